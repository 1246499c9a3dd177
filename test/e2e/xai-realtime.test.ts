import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin, stopEdgeAndOrigin } from '../support/realtime-edge.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { auditRecordsOf } from '../support/audit-tail.js';

/**
 * xAI's Voice Agent API (`wss://api.x.ai/v1/realtime?model=grok-voice-…`) speaks the OpenAI Realtime events: Edge
 * reads its client messages as it reads OpenAI's (guardrails on their text, the key's model rules), instead of
 * relaying them unread as an uninspected socket.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';

const received: string[] = [];
const origin = http.createServer();
const wss = new WebSocketServer({ noServer: true });
origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
  ws.on('message', (data) => {
    received.push(String(data));
    ws.send(JSON.stringify({ type: 'echo', seen: received.length }));
  });
}));
let edge: EdgeProcess;

beforeAll(async () => {
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-xai-realtime-', { allowedModels: [], xaiModels: ['grok-voice-think-fast-1.0'] });
}, 60_000);

afterAll(() => stopEdgeAndOrigin(edge, origin, wss));

async function openXai(model: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = await webSocketThroughEdge(edge, `wss://api.x.ai/v1/realtime?model=${model}`);
  const closed = closeOf(ws);
  await opened(ws);
  return { ws, closed };
}

const userText = (text: string) => JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });

describe('xAI Voice Agent (Realtime) sockets are read like OpenAI Realtime ones', () => {
  it('a secret in a message is blocked and never reaches xAI; PII is redacted in place', async () => {
    const before = received.length;
    const { ws, closed } = await openXai('grok-voice-think-fast-1.0');
    ws.send(userText(`reach me at ${EMAIL}`));
    await expect.poll(() => received.length - before, { timeout: 5000 }).toBe(1);
    expect(received.at(-1)).toContain('[REDACTED:email]');
    ws.send(userText(`deploy with ${GITHUB_TOKEN}`));
    expect((await closed).code).toBe(1008);
    expect(received.slice(before).join('\n')).not.toContain(GITHUB_TOKEN);
  });

  it('a model the key does not allow on xAI is refused', async () => {
    const { closed } = await openXai('grok-2-voice-unlisted');
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toContain('grok-2-voice-unlisted');
  });

  it('the opening is recorded as read (forwarded), not as an uninspected socket', async () => {
    const records = (await auditRecordsOf<{ host: string; path: string; findings: Array<{ type: string }> }>(edge.dataDir)).filter((r) => r.host === 'api.x.ai' && r.path === '/v1/realtime');
    expect(records.length).toBeGreaterThan(0);
    expect(records.flatMap((r) => r.findings.map((f) => f.type))).not.toContain('uninspected');
  });
});
