import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeBeforeTestOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';

/**
 * Look-alikes of the Anthropic and Gemini routes Edge reads, through the real CLI in local mode with real curl: each is
 * refused with a 400 in the provider's own error shape and never reaches the origin, while the documented spelling is
 * read and forwarded as before.
 */

const ANTHROPIC = 'api.anthropic.com';
const GEMINI = 'generativelanguage.googleapis.com';

const seen: string[] = [];
let edge: EdgeProcess;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ edge, stop } = await startEdgeBeforeTestOrigin((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'hello' }],
        stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 },
      }));
    });
  }, { hosts: [ANTHROPIC, GEMINI] }));
});

afterAll(async () => {
  await stop?.();
});

/** POSTs `body` to `https://{host}{path}` through Edge, the path sent exactly as written. */
function post(host: string, path: string, body: unknown) {
  return curl(['--path-as-is', '-x', edge.proxyUrl, '--cacert', edge.caPath, `https://${host}${path}`,
    '-H', 'x-api-key: sk-ant-test', '-H', 'anthropic-version: 2023-06-01', '-H', 'content-type: application/json', '-d', JSON.stringify(body)]);
}

const MESSAGES = { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
const GENERATE = { contents: [{ parts: [{ text: 'hi' }] }] };

describe('look-alike read routes through the real CLI', () => {
  it('Anthropic: /v1/files/..;/messages (forwarded unread before), /v1/Messages and /v1/messages;x are refused in Anthropic\'s shape; /v1/messages is forwarded', async () => {
    seen.length = 0;
    for (const path of ['/v1/files/..;/messages', '/v1/Messages', '/v1/messages;x']) {
      const res = await post(ANTHROPIC, path, MESSAGES);
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body) as { type: string; error: { type: string; message: string } };
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request' } });
      expect(body.error.message).toContain("Anthropic API's `messages` route");
    }
    expect(seen).toEqual([]);

    const res = await post(ANTHROPIC, '/v1/messages', MESSAGES);
    expect(res.status).toBe(200);
    expect(seen).toEqual(['POST /v1/messages']);
  });

  it('Gemini: models/{m}:GenerateContent is refused in Google\'s shape and never reaches the origin', async () => {
    seen.length = 0;
    const res = await post(GEMINI, '/v1beta/models/gemini-2.5-flash:GenerateContent', GENERATE);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('`models/{model}:generateContent`') } });
    expect(seen).toEqual([]);
  });
});
