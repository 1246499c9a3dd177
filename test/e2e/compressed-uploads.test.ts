import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { spooledUploads } from '../support/spooled-uploads.js';
import { until } from '../support/until.js';

/**
 * Compressed multipart/form-data uploads (Content-Encoding gzip, deflate, br) through the real Edge CLI to a local
 * origin: one whose decoded size is past proxy.maxRequestBodyBytes (32 MiB by default) is spooled and inspected as a
 * plain one is, up to proxy.maxUploadBytes decoded (here 64 MiB); it reaches the origin as the compressed bytes the
 * client sent, or plain once its text was redacted; a decompression bomb is refused with 413 naming the bound, a form
 * whose file breaks its framing with 400 in the route's form reader's words, as soon as the break arrives (plain or compressed).
 */

const MiB = 1024 * 1024;
const MAX_UPLOAD = 64 * MiB;
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
/**
 * 48 MiB that compresses well (a random KiB repeated, within every coding's window) and holds CR LF and dashes, never
 * followed by the boundary `b`: a file holding `\r\n--b` is a form whose framing breaks, refused as a whole (it was the
 * random byte after the dashes once in 256 runs, failing every large upload here at once).
 */
const FILE = Buffer.alloc(48 * MiB, Buffer.concat([randomBytes(1020), Buffer.from('\r\n--x')]));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const COMPRESS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b, { level: 1 }),
  deflate: (b) => zlib.deflateSync(b, { level: 1 }),
  br: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }),
};

interface Received { headers: Record<string, string | string[] | undefined>; body: Buffer }
let running: EdgeBeforeOpenAiOrigin | undefined;
let edge: EdgeProcess;
const received: Received[] = [];

beforeAll(async () => {
  running = await startEdgeBeforeOpenAiOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"created":1,"data":[]}');
    });
  }, { maxUploadBytes: MAX_UPLOAD });
  edge = running.edge;
}, 60_000);

afterAll(() => running?.stop());

const spoolFiles = () => spooledUploads(edge.dataDir);

/** An image edit form with `prompt` and `file` as its image, boundary `b`. */
function imageEditForm(prompt: string, file: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-image-1\r\n--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${prompt}\r\n`),
    Buffer.from('--b\r\nContent-Disposition: form-data; name="image"; filename="cat.png"\r\nContent-Type: image/png\r\n\r\n'),
    file,
    Buffer.from('\r\n--b--\r\n'),
  ]);
}

async function post(body: Buffer, contentEncoding: string) {
  received.length = 0;
  const res = await undiciFetch('https://api.openai.com/v1/images/edits', {
    method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), body,
    headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-encoding': contentEncoding, authorization: 'Bearer sk-test' },
  });
  const text = await res.text();
  return { status: res.status, text, message: res.status === 200 ? '' : (JSON.parse(text) as { error: { message: string } }).error.message };
}

describe('compressed multipart uploads through Edge', () => {
  for (const coding of Object.keys(COMPRESS)) {
    it(`a ${coding} upload of 48 MiB decoded (past proxy.maxRequestBodyBytes) reaches the origin as the compressed bytes sent`, async () => {
      const sent = COMPRESS[coding]!(imageEditForm('a hat on the cat', FILE));
      const res = await post(sent, coding);
      expect(res).toMatchObject({ status: 200 });
      expect(received).toHaveLength(1);
      expect(received[0]!.headers['content-encoding']).toBe(coding);
      expect(received[0]!.headers['content-length']).toBe(String(sent.length));
      expect(sha256(received[0]!.body)).toBe(sha256(sent));
      expect(await until(() => spoolFiles().length === 0)).toBe(true);
    });
  }

  it('a secret in the prompt of a large gzip upload is blocked (446) and never reaches the origin', async () => {
    const res = await post(COMPRESS.gzip!(imageEditForm(`deploy with ${GITHUB_TOKEN}`, FILE)), 'gzip');
    expect(res.status).toBe(446);
    expect(received).toHaveLength(0);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('an email in the prompt of a large br upload is redacted: the origin gets the form plain, its file byte for byte', async () => {
    const res = await post(COMPRESS.br!(imageEditForm(`a hat for ${EMAIL}`, FILE)), 'br');
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-encoding']).toBeUndefined();
    const expected = imageEditForm('a hat for [REDACTED:email]', FILE);
    expect(received[0]!.headers['content-length']).toBe(String(expected.length));
    expect(sha256(received[0]!.body)).toBe(sha256(expected));
  });

  it('a decompression bomb is refused (413) naming proxy.maxUploadBytes, and leaves no spool file', async () => {
    // 100 MiB of zeros, about 100 KiB compressed: past the 64 MiB bound only once decoded.
    const bomb = COMPRESS.gzip!(imageEditForm('a hat', Buffer.alloc(100 * MiB)));
    expect(bomb.length).toBeLessThan(MiB);
    const res = await post(bomb, 'gzip');
    expect(res.status).toBe(413);
    expect(res.message).toMatch(/decompressed from its Content-Encoding: gzip .* larger than the 64\.0 MiB .*proxy\.maxUploadBytes/);
    expect(received).toHaveLength(0);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('a large gzip upload cut off mid-stream gets a 400 saying it is not valid gzip, and is not forwarded', async () => {
    const whole = COMPRESS.gzip!(imageEditForm('a hat', FILE));
    const res = await post(whole.subarray(0, whole.length - 64), 'gzip');
    expect(res.status).toBe(400);
    expect(res.message).toMatch(/Content-Encoding: gzip but is not valid gzip data/);
    expect(received).toHaveLength(0);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  for (const coding of ['identity', 'gzip']) {
    it(`a large upload (Content-Encoding: ${coding}) whose file holds the boundary after CR LF, then no boundary line's end, gets 400 in the form reader's words, and is not forwarded`, async () => {
      const res = await post((COMPRESS[coding] ?? ((b: Buffer) => b))(imageEditForm('a hat', Buffer.concat([Buffer.from('\r\n--bX'), FILE]))), coding);
      expect(res.status).toBe(400);
      expect(res.message).toContain('is malformed: the boundary line of part 4 goes on after the boundary.');
      // Refused by the route's own form reader, at once: in its words, naming the call.
      expect(res.message).toMatch(/^The multipart\/form-data body of POST \S+ \(.+\) is malformed/);
      expect(received).toHaveLength(0);
      expect(await until(() => spoolFiles().length === 0)).toBe(true);
    });
  }

  it('a small gzip upload is still read in memory and inspected: a secret in its prompt blocks', async () => {
    const res = await post(COMPRESS.gzip!(imageEditForm(`deploy with ${GITHUB_TOKEN}`, Buffer.from('tiny'))), 'gzip');
    expect(res.status).toBe(446);
    expect(received).toHaveLength(0);
  });
});
