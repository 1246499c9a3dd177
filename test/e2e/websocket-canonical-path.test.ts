import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { rawUpgradeThroughEdge } from '../support/raw-websocket-upgrade.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';

// An upgrade path with dot segments is dialed in its cleaned-up form (`ws` parses the URL it dials:
// `/v1/./realtime` arrives as `/v1/realtime`), while Edge decided on the path as written, which names no API
// Edge reads: the socket's messages would go unread to an API that does read them. HTTP requests with such
// paths are refused; WebSocket upgrades are too.

const originPaths: string[] = [];
const origin = http.createServer();
const wss = new WebSocketServer({ noServer: true });
origin.on('upgrade', (req, socket, head) => {
  originPaths.push(req.url ?? '');
  wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000, 'origin'));
});
let edge: EdgeProcess;

beforeAll(async () => {
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-canonical-');
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  wss.close();
  await new Promise((resolve) => origin.close(resolve));
});

describe('a WebSocket upgrade whose path is not in canonical form', () => {
  it.each([
    '/v1/./realtime?model=gpt-realtime',
    '/v1/x/../realtime?model=gpt-realtime',
    '/v1/%2e/realtime?model=gpt-realtime',
    '/v1//realtime?model=gpt-realtime',
  ])('%s is refused with the reason, and the origin never sees it', async (target) => {
    const before = originPaths.length;
    const { close } = await rawUpgradeThroughEdge(edge, target);
    expect(close?.code).toBe(1008);
    expect(close?.reason).toContain('canonical');
    expect(originPaths.length).toBe(before);
  });

  it.each([
    '/V1/Realtime?model=gpt-realtime',
    '/v1/realtime;x=1?model=gpt-realtime',
  ])('%s (the API\'s path in another letter case, or with ;parameters) is refused, and the origin never sees it', async (target) => {
    const before = originPaths.length;
    const { close } = await rawUpgradeThroughEdge(edge, target);
    expect(close?.code).toBe(1008);
    expect(close?.reason).toContain('letter case or ;parameters');
    expect(originPaths.length).toBe(before);
  });

  it('the plain path still opens (the check refuses only what it should)', async () => {
    const before = originPaths.length;
    await rawUpgradeThroughEdge(edge, '/v1/realtime?model=gpt-realtime');
    expect(originPaths.slice(before)).toEqual(['/v1/realtime?model=gpt-realtime']);
  });
});
