import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { contentSafetyInspector } from '../../src/proxy/inspectors/content-safety.js';
import { ModerationClient } from '../../src/gateway/moderation-client.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import type { NormalizedRequest } from '../../src/providers/types.js';

const request: NormalizedRequest = {
  provider: 'openai', adapter: 'openai-compatible', operation: 'chat.completions', model: 'gpt-4o', stream: false, inspected: true,
  texts: [{ path: ['messages', 0, 'content'], text: 'hello', kind: 'user' }], tools: [],
};
const compiled = compileGuardrailPolicy({ contentSafety: { model: 'mod-1' } });
if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
const info = { method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', headers: {} };

async function withGateway(status: number, body: string, run: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.close();
  }
}

describe('contentSafetyInspector', () => {
  it.each([
    ['closed', 'block', 503],
    ['open', 'allow', undefined],
  ] as const)('a failing moderation route with fail mode %s → %s', async (failMode, action, status) => {
    await withGateway(500, '{"error":"down"}', async (url) => {
      const moderation = new ModerationClient({ gatewayUrl: url });
      const inspect = contentSafetyInspector({ policy: () => compiled.policy, moderation, virtualKey: () => 'sk-bf-x', failMode: () => failMode });
      const verdict = await inspect({ request, body: {}, info, app: 'test' });
      expect(verdict.action).toBe(action);
      if (verdict.action === 'block') {
        expect(verdict.error.status).toBe(status);
        expect(verdict.error.message).toMatch(/HTTP 500/);
      }
      await moderation.close();
    });
  });

  it('an answer in another format is a failure, not a pass', async () => {
    await withGateway(200, '{"ok":true}', async (url) => {
      const moderation = new ModerationClient({ gatewayUrl: url });
      const inspect = contentSafetyInspector({ policy: () => compiled.policy, moderation, virtualKey: () => undefined, failMode: () => 'closed' });
      const verdict = await inspect({ request, body: {}, info, app: 'test' });
      expect(verdict).toMatchObject({ action: 'block', error: { type: 'content_safety_unavailable' } });
      await moderation.close();
    });
  });

  it('no gateway configured: the fail mode decides', async () => {
    const inspect = contentSafetyInspector({ policy: () => compiled.policy, moderation: undefined, virtualKey: () => undefined, failMode: () => 'closed' });
    expect(await inspect({ request, body: {}, info, app: 'test' })).toMatchObject({ action: 'block', error: { message: expect.stringMatching(/no gateway is configured/) } });
  });

  it('asks about the conversation, not the tool definitions an agent resends with every turn', async () => {
    const asked: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        asked.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: [{ category_scores: { violence: 0.01 } }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const moderation = new ModerationClient({ gatewayUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const inspect = contentSafetyInspector({ policy: () => compiled.policy, moderation, virtualKey: () => 'sk-bf-x', failMode: () => 'closed' });
      const withTools: NormalizedRequest = {
        ...request,
        texts: [
          { path: ['messages', 0, 'content'], text: 'hello', kind: 'user' },
          { path: ['tools', 0, 'function', 'description'], text: 'Runs a shell command in the workspace', kind: 'tool_definition' },
          { path: ['messages', 1, 'content'], text: 'ls printed two files', kind: 'tool_result' },
        ],
      };
      expect(await inspect({ request: withTools, body: {}, info, app: 'test' })).toEqual({ action: 'allow' });
      expect(asked).toEqual([{ model: 'mod-1', input: ['hello', 'ls printed two files'] }]);
      await moderation.close();
    } finally {
      server.close();
    }
  });
});
