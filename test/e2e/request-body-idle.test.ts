import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { imageEditAnswers } from '../support/image-edit-answers.js';
import { tlsThroughProxy } from '../support/proxy-clients.js';

/**
 * The real Edge CLI with proxy.requestBodyIdleTimeoutMs set to a second: a request whose body stops arriving is
 * answered 408 (request_timeout, in the provider's format) about a second after its last bytes, its connection
 * closed after the answer and the refusal in the audit log, nothing sent upstream; one whose body keeps coming,
 * however slowly, is forwarded.
 */

const IDLE_MS = 1000;
const origin = imageEditAnswers();
let running: EdgeBeforeOpenAiOrigin | undefined;
let edge: EdgeProcess;

beforeAll(async () => {
  running = await startEdgeBeforeOpenAiOrigin(origin.handler, { requestBodyIdleTimeoutMs: IDLE_MS });
  edge = running.edge;
}, 60_000);

afterAll(() => running?.stop());

/** What a request sends around its body's pieces: where, as what, and its body's first and last bytes. */
interface Shape {
  path: string;
  contentType: string;
  head: string;
  tail: string;
}

const UPLOAD: Shape = {
  path: '/v1/images/edits',
  contentType: 'multipart/form-data; boundary=b',
  head: '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n',
  tail: '\r\n--b--\r\n',
};

const CHAT: Shape = {
  path: '/v1/chat/completions',
  contentType: 'application/json',
  head: '{"model":"gpt-4o","messages":[{"role":"user","content":"',
  tail: '"}]}',
};

/**
 * Sends a request through Edge over TLS: its body's head, then `pieces` `gapMs` apart, then (unless `stall`)
 * the rest. Resolves with the raw answer, how long after the last piece it came, and whether Edge closed the
 * connection after it.
 */
async function send(shape: Shape, pieces: string[], gapMs: number, stall: boolean): Promise<{ answer: string; afterLastMs: number; closed: boolean }> {
  const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
  socket.on('error', () => {});
  const length = Buffer.byteLength(shape.head + pieces.join('') + shape.tail) + (stall ? 1000 : 0);
  let answer = '';
  socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
  // Ends when Edge closes the connection, or once an answer's (JSON) body is in.
  const closed = new Promise<boolean>((resolve) => {
    socket.once('end', () => resolve(true));
    socket.on('data', () => { if (!stall && answer.includes('}')) resolve(false); });
    setTimeout(() => resolve(false), 10_000);
  });
  socket.write(`POST ${shape.path} HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\nContent-Type: ${shape.contentType}\r\nContent-Length: ${length}\r\n\r\n${shape.head}`);
  for (const piece of pieces) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    socket.write(piece);
  }
  const last = Date.now();
  if (!stall) socket.write(shape.tail);
  const wasClosed = await closed;
  const afterLastMs = Date.now() - last;
  socket.destroy();
  return { answer, afterLastMs, closed: wasClosed };
}

/** The answer to a stalled body: 408 in OpenAI's error format, about the bound after its last bytes. */
async function expectStalledAnswer(sent: { answer: string; afterLastMs: number; closed: boolean }): Promise<void> {
  expect(sent.answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(sent.answer.toLowerCase()).toContain('connection: close');
  expect(sent.answer).toContain('"type":"request_timeout"');
  expect(sent.answer).toContain('stopped arriving');
  expect(sent.closed).toBe(true);
  expect(sent.afterLastMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
  expect(sent.afterLastMs).toBeLessThan(IDLE_MS + 4000);
}

describe('proxy.requestBodyIdleTimeoutMs through the real Edge', () => {
  it('answers 408 about the configured bound after an upload stops arriving, closes the connection and records why', async () => {
    await expectStalledAnswer(await send(UPLOAD, ['x'.repeat(100)], 0, true));
    const records = await auditRecordsOnceThere<{ reason?: string; status?: number; decision?: string }>(edge.dataDir, (r) => r.reason === 'request_timeout');
    expect(records).toEqual([expect.objectContaining({ status: 408, decision: 'blocked' })]);
    expect(origin.requests()).toBe(0);
  });

  it('forwards an upload that keeps arriving, however slowly, for longer than the bound in all', async () => {
    const { answer } = await send(UPLOAD, Array.from({ length: 8 }, () => 'y'.repeat(10)), IDLE_MS / 3, false);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(origin.requests()).toBe(1);
  });

  it('answers 408 the same way to a JSON body read into memory that stops arriving, and forwards a slow steady one', async () => {
    await expectStalledAnswer(await send(CHAT, ['hel'], 0, true));
    const records = await auditRecordsOnceThere<{ reason?: string; path?: string }>(edge.dataDir, (r) => r.reason === 'request_timeout', 2);
    expect(records.map((r) => r.path)).toEqual(['/v1/images/edits', '/v1/chat/completions']);
    const { answer } = await send(CHAT, Array.from({ length: 8 }, () => 'lo'), IDLE_MS / 3, false);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(origin.requests()).toBe(2);
  });
});
