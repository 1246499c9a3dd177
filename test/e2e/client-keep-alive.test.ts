import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeBeforeTestOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { tlsThroughProxy } from '../support/proxy-clients.js';

let edge: EdgeProcess;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // Node's own default: this origin tells Edge "Keep-Alive: timeout=5". Edge must not pass that on.
  ({ edge, stop } = await startEdgeBeforeTestOrigin((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ ok: true });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }, { hosts: ['api.openai.com'] }));
});

afterAll(async () => {
  await stop?.();
});

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });

/** One HTTP/1.1 request written by hand on an open socket; resolves with the whole response text. */
function exchange(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1] ?? 0);
      if (text.length < headEnd + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(text);
    };
    const onClose = () => reject(new Error(`Edge closed the kept-alive connection (had: ${JSON.stringify(text)})`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-test\r\nContent-Length: ${Buffer.byteLength(CHAT)}\r\n\r\n${CHAT}`);
  });
}

describe('idle client connections to Edge', () => {
  it('are kept open for two minutes, and clients are told so', async () => {
    const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    try {
      const first = await exchange(socket);
      expect(first).toMatch(/^HTTP\/1\.1 200/);
      const keepAliveHeaders = first.split('\r\n').filter((line) => /^keep-alive:/i.test(line));
      expect(keepAliveHeaders).toEqual(['Keep-Alive: timeout=120']);
      // Past Node's 5 s default, which closed the connection and made the next request pay a new
      // CONNECT and TLS handshake.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(socket.destroyed).toBe(false);
      expect(await exchange(socket)).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      socket.destroy();
    }
  }, 20_000);
});
