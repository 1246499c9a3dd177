import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { imageEditAnswers } from '../support/image-edit-answers.js';
import { proxyDispatcher, tlsThroughProxy, undiciFetch } from '../support/proxy-clients.js';
import { spooledUploads, uploadsDir } from '../support/spooled-uploads.js';
import { until } from '../support/until.js';

/**
 * proxy.maxUploadSpoolBytes through the real Edge CLI (proxy.maxRequestBodyBytes lowered too: an upload may always be
 * as large as that, so the budget is never below it): beside an upload being spooled, one whose declared length
 * does not fit what is free is answered 503 with Retry-After at once; when the first client leaves, its space comes
 * back and the next upload goes through. An upload holds only what has arrived of it, not what it declares.
 */

const MiB = 1024 * 1024;
const origin = imageEditAnswers();
let running: EdgeBeforeOpenAiOrigin | undefined;
let edge: EdgeProcess;

beforeAll(async () => {
  running = await startEdgeBeforeOpenAiOrigin(origin.handler, { maxRequestBodyBytes: 2 * MiB, maxUploadBytes: 8 * MiB, maxUploadSpoolBytes: 12 * MiB });
  edge = running.edge;
}, 60_000);

afterAll(() => running?.stop());

const spoolFiles = () => spooledUploads(edge.dataDir);
const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n');
const tail = Buffer.from('\r\n--b--\r\n');

/** Opens TLS to api.openai.com through Edge and sends the head of an upload declaring `declared` bytes, and `first`. */
async function startUpload(declared: number, first: Buffer): Promise<{ socket: tls.TLSSocket; answer: Promise<string> }> {
  const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
  socket.on('error', () => {});
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('}')) resolve(text);
    });
    socket.once('close', () => resolve(text));
  });
  socket.write(`POST /v1/images/edits HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${declared}\r\n\r\n`);
  socket.write(first);
  return { socket, answer };
}

describe('the upload spool budget through Edge', () => {
  it('answers 503 with Retry-After beside a spooling upload, and takes uploads again once that client left', async () => {
    const first = await startUpload(8 * MiB, Buffer.concat([head, Buffer.alloc(4 * MiB, 1)]));
    // All it sent is held (4 MiB and its head): the 8 MiB the next one declares do not fit beside it in 12 MiB.
    const spooledBytes = () => spoolFiles().reduce((sum, name) => sum + fs.statSync(path.join(uploadsDir(edge.dataDir), name)).size, 0);
    expect(await until(() => spooledBytes() === 4 * MiB + head.length)).toBe(true);

    const second = await startUpload(8 * MiB, head);
    const refused = await second.answer;
    second.socket.destroy();
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/\r\nretry-after: 30\r\n/i);
    expect(refused).toContain('proxy.maxUploadSpoolBytes');

    first.socket.destroy();
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
    const body = Buffer.concat([head, Buffer.alloc(8 * MiB - head.length - tail.length, 1), tail]);
    const res = await undiciFetch('https://api.openai.com/v1/images/edits', {
      method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers: { 'content-type': 'multipart/form-data; boundary=b', authorization: 'Bearer sk-test' }, body,
    });
    expect(res.status).toBe(200);
    expect(origin.requests()).toBe(1);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });
});
