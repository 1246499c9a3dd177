import tls from 'node:tls';
import { openConnectTunnel } from './proxy-clients.js';

export interface RawUpgradeAnswer {
  /** Everything Edge sent on the connection: the HTTP answer, then any frames. */
  bytes: Buffer;
  /** The answer's status line (`HTTP/1.1 101 Switching Protocols`). */
  statusLine: string;
  /** Edge's close frame, when it sent one after the 101: its code and reason. */
  close?: { code: number; reason: string };
}

/**
 * Writes a WebSocket upgrade as no library would let a client write it (any request target, any Host) in a
 * CONNECT tunnel to api.openai.com through Edge, and waits for the connection to end: a close frame from Edge is
 * answered as a client answers it, so Edge ends the connection.
 */
export async function rawUpgradeThroughEdge(edge: { proxyUrl: string; caPem: string }, target: string, host = 'api.openai.com'): Promise<RawUpgradeAnswer> {
  const { socket: raw } = await openConnectTunnel(edge.proxyUrl, 'api.openai.com:443');
  const socket = tls.connect({ socket: raw, servername: 'api.openai.com', ca: edge.caPem });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (closeFrameAt(Buffer.concat(chunks)) !== -1) socket.end();
  });
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise((resolve) => socket.once('close', resolve));
  const bytes = Buffer.concat(chunks);
  const statusLine = bytes.toString('latin1').split('\r\n')[0] ?? '';
  const at = closeFrameAt(bytes);
  // A close frame from a server: 0x88, its (short) length, the code, the reason.
  const close = at === -1 ? undefined : { code: bytes.readUInt16BE(at + 2), reason: bytes.subarray(at + 4, at + 2 + (bytes[at + 1]! & 0x7f)).toString() };
  return { bytes, statusLine, ...(close ? { close } : {}) };
}

/** Where the close frame (0x88) after the HTTP answer starts; -1 when none has arrived whole. */
function closeFrameAt(bytes: Buffer): number {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return -1;
  const at = bytes.indexOf(0x88, headEnd + 4);
  return at !== -1 && bytes.length >= at + 2 + (bytes[at + 1]! & 0x7f) ? at : -1;
}
