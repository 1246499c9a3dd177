import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin, stopEdgeAndOrigin } from '../support/realtime-edge.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * The Responses API's WebSocket mode on Azure OpenAI (`wss://{resource}.openai.azure.com/openai/v1/responses`) and xAI
 * (`wss://api.x.ai/v1/responses`), through a real Edge with a real `ws` client: each response.create is read, so a
 * secret in one is refused with an `error` event and never reaches the vendor, and its model (on Azure the deployment)
 * is held to the key's rules. And a look-alike path HTTP refuses on Azure AI Services (`/OpenAI/v1/foo`) is refused
 * as a WebSocket too, before it is dialed, and recorded with HTTP's refusal. Before, all of these went out unread.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const SECRET = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const HOSTS = ['contoso.openai.azure.com', 'contoso.services.ai.azure.com', 'api.x.ai'];

/** What the origin was sent: the upgrades it was asked to open, and each message, by path. */
const upgrades: string[] = [];
const received: Array<{ path: string; message: Record<string, unknown> }> = [];
const wss = new WebSocketServer({ noServer: true });
/**
 * An origin speaking enough of the Responses WebSocket protocol for a client to see each turn end. Any other path it
 * closes at once: a socket Edge wrongly relays ends too, with the origin's reason, and the test says so.
 */
const origin = http.createServer();
origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
  upgrades.push(req.url ?? '');
  if (!/\/responses$/.test(req.url ?? '')) {
    ws.close(1000, 'origin');
    return;
  }
  let responses = 0;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    received.push({ path: req.url ?? '', message });
    ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 0, response: { id: `resp_${++responses}`, object: 'response', status: 'completed', model: message['model'], output: [] } }));
  });
}));
let edge: EdgeProcess;

beforeAll(async () => {
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-responses-vendors-', {
    providerConfigs: [{ provider: 'azure', allowed_models: ['gpt5-prod'] }, { provider: 'xai', allowed_models: ['grok-4'] }], originHosts: HOSTS,
  });
}, 60_000);

afterAll(() => stopEdgeAndOrigin(edge, origin, wss));

/** A raw `ws` client on `url` through Edge, open; `next` resolves with the next message the client gets. */
async function openSocket(url: string): Promise<{ ws: WebSocket; next: () => Promise<Record<string, unknown>> }> {
  const ws = await webSocketThroughEdge(edge, url);
  const inbox: Array<Record<string, unknown>> = [];
  const waiting: Array<(message: Record<string, unknown>) => void> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  await opened(ws);
  const next = () => {
    const ready = inbox.shift();
    return ready ? Promise.resolve(ready) : new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  };
  return { ws, next };
}

const turn = (model: string, text: string) => JSON.stringify({ type: 'response.create', model, input: [{ role: 'user', content: [{ type: 'input_text', text }] }] });

/** An audit record as `bifrost-edge audit tail --json` prints it. */
interface AuditRecord { host: string; path: string; provider?: string; model?: string | null; decision: string; status?: number; reason?: string; message?: string; findings: Array<{ type: string; rule_id: string }> }

describe.each([
  ['contoso.openai.azure.com', '/openai/v1/responses', 'azure', 'gpt5-prod', 'gpt5-test'],
  ['api.x.ai', '/v1/responses', 'xai', 'grok-4', 'grok-3'],
])('the Responses WebSocket on %s%s is read', (host, target, provider, allowed, refused) => {
  it('a secret is refused with an error event and never reaches the vendor; an allowed turn goes; another model is refused', async () => {
    const before = received.length;
    const { ws, next } = await openSocket(`wss://${host}${target}`);
    const closed = closeOf(ws);

    ws.send(turn(allowed, `deploy with ${SECRET}`));
    expect(await next()).toMatchObject({ type: 'error', status: 446, error: { type: 'guardrail_blocked' } });

    ws.send(turn(refused, 'hello'));
    expect(await next()).toMatchObject({ type: 'error', status: 403, error: { type: 'model_blocked' } });

    ws.send(turn(allowed, 'hello'));
    expect(await next()).toMatchObject({ type: 'response.completed', response: { model: allowed } });
    expect(received.slice(before).map((r) => [r.path, r.message['model']])).toEqual([[target, allowed]]);
    expect(JSON.stringify(received)).not.toContain(SECRET);

    ws.close();
    await closed;
    const records = await auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.host === host && r.path === target, 4);
    expect(records).toEqual(expect.arrayContaining([
      // The opening, read (not flagged uninspected), and each turn as a request of its own.
      expect.objectContaining({ provider, model: null, decision: 'allowed', status: 101, findings: [] }),
      expect.objectContaining({ provider, model: allowed, decision: 'blocked', status: 446, reason: 'guardrail_blocked', findings: [expect.objectContaining({ type: 'secret', rule_id: 'github-pat' })] }),
      expect.objectContaining({ provider, model: refused, decision: 'blocked', status: 403, reason: 'model_blocked' }),
      expect.objectContaining({ provider, model: allowed, decision: 'allowed', findings: [] }),
    ]));
    expect(records.flatMap((r) => r.findings.map((f) => f.type))).not.toContain('uninspected');
  });
});

describe('a look-alike path HTTP refuses on Azure AI Services', () => {
  it('is refused as a WebSocket before it is dialed, and recorded with the refusal', async () => {
    const before = upgrades.length;
    const ws = await webSocketThroughEdge(edge, 'wss://contoso.services.ai.azure.com/OpenAI/v1/foo');
    const close = await closeOf(ws);
    expect(close.code).toBe(1008);
    expect(close.reason).toContain('Bifrost Edge');
    expect(upgrades.slice(before)).toEqual([]);
    const [record] = await auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.host === 'contoso.services.ai.azure.com' && r.path === '/OpenAI/v1/foo');
    expect(record).toMatchObject({
      provider: 'azure', decision: 'blocked', status: 400, reason: 'invalid_request',
      message: expect.stringContaining('a lenient reading of it'),
    });
  });
});
