import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin, stopEdgeAndOrigin } from '../support/realtime-edge.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * Azure OpenAI's Realtime WebSocket spelled as a lenient origin still routes it to `/openai/realtime` (a trailing dot,
 * a trailing tab or newline, a `..;` segment only such an origin resolves) is refused before it is dialed, on both of
 * Azure's hosts: relayed, its messages would have gone out unread, a session.update carrying a token among them.
 */

const QUERY = '?api-version=2024-10-01-preview&deployment=voice-prod';
const RESOURCES = ['contoso.openai.azure.com', 'contoso.services.ai.azure.com'];

const originUpgrades: string[] = [];
const origin = http.createServer();
const wss = new WebSocketServer({ noServer: true });
origin.on('upgrade', (req, socket, head) => {
  originUpgrades.push(req.url ?? '');
  // Closed at once by the origin: a socket Edge wrongly relays ends too, with the origin's reason, and the test says so.
  wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000, 'origin'));
});
let edge: EdgeProcess;

beforeAll(async () => {
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-azure-rt-lookalike-', {
    providerConfigs: [{ provider: 'azure', allowed_models: ['voice-prod'] }], originHosts: RESOURCES,
  });
}, 60_000);

afterAll(() => stopEdgeAndOrigin(edge, origin, wss));

describe.each(RESOURCES)('Azure Realtime look-alike paths on %s', (host) => {
  it.each([
    '/openai/realtime.',
    '/openai./realtime',
    '/openai/realtime%09',
    '/openai/realtime%0A',
    '/x/..;/openai/realtime',
  ])('%s is refused with the reason, and the origin never sees it', async (lookalike) => {
    const before = originUpgrades.length;
    const ws = await webSocketThroughEdge(edge, `wss://${host}${lookalike}${QUERY}`);
    const close = await closeOf(ws);
    expect(close.code).toBe(1008);
    expect(close.reason).toContain('Bifrost Edge');
    expect(originUpgrades.slice(before)).toEqual([]);
  });

  it('the plain path still opens and reaches the origin', async () => {
    const before = originUpgrades.length;
    const ws = await webSocketThroughEdge(edge, `wss://${host}/openai/realtime${QUERY}`);
    const closed = closeOf(ws);
    await opened(ws);
    expect(await closed).toEqual({ code: 1000, reason: 'origin' });
    expect(originUpgrades.slice(before)).toEqual([`/openai/realtime${QUERY}`]);
  });
});
