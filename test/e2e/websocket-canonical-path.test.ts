import http from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { openConnectTunnel } from '../support/proxy-clients.js';
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

/** Opens a WebSocket on api.openai.com through Edge with this request target; what Edge answered, whole. */
async function upgradeThroughEdge(target: string): Promise<Buffer> {
  const { socket: raw } = await openConnectTunnel(edge.proxyUrl, 'api.openai.com:443');
  const socket = tls.connect({ socket: raw, servername: 'api.openai.com', ca: edge.caPem });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write(`GET ${target} HTTP/1.1\r\nHost: api.openai.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer sk-app-key\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    // A close frame (0x88): answer it, as a client does, so the connection ends.
    if (Buffer.concat(chunks).includes(Buffer.from([0x88]))) socket.end();
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('close', resolve));
  return Buffer.concat(chunks);
}

describe('a WebSocket upgrade whose path is not in canonical form', () => {
  it.each([
    '/v1/./realtime?model=gpt-realtime',
    '/v1/x/../realtime?model=gpt-realtime',
    '/v1/%2e/realtime?model=gpt-realtime',
    '/v1//realtime?model=gpt-realtime',
  ])('%s is refused with the reason, and the origin never sees it', async (target) => {
    const before = originPaths.length;
    const answer = await upgradeThroughEdge(target);
    const close = answer.subarray(answer.indexOf(Buffer.from([0x88])));
    expect(close.readUInt16BE(2)).toBe(1008);
    expect(close.subarray(4).toString()).toContain('canonical');
    expect(originPaths.length).toBe(before);
  });

  it('the plain path still opens (the check refuses only what it should)', async () => {
    const before = originPaths.length;
    await upgradeThroughEdge('/v1/realtime?model=gpt-realtime');
    expect(originPaths.slice(before)).toEqual(['/v1/realtime?model=gpt-realtime']);
  });
});
