import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFormUpload, SpooledUpload, type UploadLimits } from '../../src/proxy/form-upload.js';
import type { RequestBodyError } from '../../src/proxy/request-body.js';
import { uploadSpoolBudget } from '../../src/proxy/upload-spool-budget.js';
import { until } from '../support/until.js';

/**
 * proxy.maxUploadSpoolBytes on a real HTTP server whose requests readFormUpload reads, several at once: uploads held
 * in spool files together stay under the budget (one whose declared length does not fit what is free is refused at
 * once with 503 and a Retry-After, one that outgrows it as it arrives), each holding only what has arrived, and the
 * space comes back as each spool is removed, however its exchange ends.
 */

const MiB = 1024 * 1024;
const BUDGET = 5 * MiB;
let spoolDir: string;
let server: http.Server;
let limits: UploadLimits;
/** Each request's outcome by its x-upload header; spooled uploads are kept until the test disposes of them. */
const outcomes = new Map<string, Promise<{ read?: Buffer | SpooledUpload; error?: RequestBodyError }>>();
const open: http.ClientRequest[] = [];

beforeAll(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-spool-budget-'));
  server = http.createServer((req, res) => {
    const outcome = readFormUpload(req, 'b', limits).then(
      (read): { read?: Buffer | SpooledUpload; error?: RequestBodyError } => ({ read }),
      (error: RequestBodyError) => ({ error }),
    );
    outcomes.set(String(req.headers['x-upload']), outcome);
    void outcome.then(({ error }) => {
      res.writeHead(error?.edge.status ?? 200, error?.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {});
      res.end(error?.edge.message ?? '');
    });
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  for (const req of open.splice(0)) req.destroy();
  for (const outcome of outcomes.values()) {
    const { read } = await outcome;
    if (read instanceof SpooledUpload) read.dispose();
  }
  outcomes.clear();
  expect(await until(() => uploadSpoolBudget.used === 0)).toBe(true);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n');
const tail = Buffer.from('\r\n--b--\r\n');
const spoolFiles = () => fs.readdirSync(spoolDir);

/**
 * Opens upload `name` (declared `declared` bytes, or chunked when undefined), sends `first` (the form's head by
 * default) and `bytes` of file content, and keeps it open. `answer` is the status, Retry-After and message it
 * gets, whenever it gets one.
 */
function openUpload(name: string, bytes: number, declared?: number, { first = head, headers = {} }: { first?: Buffer; headers?: http.OutgoingHttpHeaders } = {}) {
  const req = http.request({
    host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=b', 'x-upload': name, ...(declared !== undefined ? { 'content-length': declared } : {}), ...headers },
  });
  open.push(req);
  const answer = new Promise<{ status: number; retryAfter?: string; text: string }>((resolve) => {
    req.once('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text, ...(res.headers['retry-after'] !== undefined ? { retryAfter: res.headers['retry-after'] } : {}) }));
    });
    req.once('error', () => resolve({ status: 0, text: '' }));
  });
  req.write(first);
  for (let sent = 0; sent < bytes; sent += 256 * 1024) req.write(Buffer.alloc(Math.min(256 * 1024, bytes - sent), 7));
  return { req, answer };
}

/** Sends a whole upload with `bytes` of file content and waits for what the reader made of it. */
async function upload(name: string, bytes: number) {
  const { req } = openUpload(name, bytes, head.length + bytes + tail.length);
  req.end(tail);
  expect(await until(() => outcomes.has(name))).toBe(true);
  return outcomes.get(name)!;
}

describe('the upload spool budget (proxy.maxUploadSpoolBytes)', () => {
  it('refuses at once (503, Retry-After) an upload whose declared length the budget cannot take beside one being spooled; an abort gives the space back', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir };
    const first = openUpload('first', 2.5 * MiB - head.length, 3 * MiB);
    // It holds what arrived, not the 3 MiB it declares.
    expect(await until(() => uploadSpoolBudget.used === 2.5 * MiB)).toBe(true);

    // Only its head is sent: it is answered before a byte of its body.
    const second = openUpload('second', 0, 3 * MiB);
    const refused = await second.answer;
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('30');
    expect(refused.text).toMatch(/holding 2\.5 MiB of other uploads on disk .*this upload \(3\.0 MiB\) would take them past the 5\.0 MiB it holds at once \(proxy\.maxUploadSpoolBytes\)\. Send it again in a moment/);
    expect(spoolFiles()).toHaveLength(1);

    // The first client leaves mid-upload: its spool file is removed and its claim given back.
    first.req.destroy();
    expect(await until(() => spoolFiles().length === 0 && uploadSpoolBudget.used === 0)).toBe(true);
    expect((await outcomes.get('first')!).error?.edge.status).toBe(400);

    const third = await upload('third', 3 * MiB - head.length - tail.length);
    expect(third.read).toBeInstanceOf(SpooledUpload);
    expect(uploadSpoolBudget.used).toBe(3 * MiB);
  });

  it('clients that declare the largest upload and send nothing hold none of the budget: a small upload still goes through', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir };
    const idle = ['idle1', 'idle2', 'idle3', 'idle4'].map((name) => openUpload(name, 0, 4 * MiB));
    expect(await until(() => outcomes.size === 4)).toBe(true);
    expect(uploadSpoolBudget.used).toBe(0);

    const small = await upload('small', 2 * MiB);
    expect(small.error).toBeUndefined();
    expect(small.read).toBeInstanceOf(SpooledUpload);
    for (const { req } of idle) req.destroy();
  });

  it('an upload that declared more than the memory bound and left before a spool file existed holds nothing', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir };
    const left = openUpload('left', 10 * 1024, 3 * MiB);
    expect(await until(() => outcomes.has('left'))).toBe(true);
    left.req.destroy();
    expect((await outcomes.get('left')!).error?.edge.status).toBe(400);
    expect(uploadSpoolBudget.used).toBe(0);
    expect(spoolFiles()).toHaveLength(0);
  });

  it('gives its claim back when the spool file cannot be created (507): the budget holds nothing after', async () => {
    const notADirectory = path.join(spoolDir, 'a-file');
    fs.writeFileSync(notADirectory, '');
    try {
      limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir: path.join(notADirectory, 'uploads') };
      const { req, answer } = openUpload('no-spool', 2 * MiB, 3 * MiB);
      expect((await answer).status).toBe(507);
      req.destroy();
      expect(uploadSpoolBudget.used).toBe(0);
    } finally {
      fs.rmSync(notADirectory, { force: true });
    }
  });

  it('refuses a chunked upload (no declared length) as it grows past the budget, removing its spool; the other goes on', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir };
    const first = openUpload('first', 3 * MiB);
    expect(await until(() => uploadSpoolBudget.used >= 3 * MiB)).toBe(true);
    const second = openUpload('second', 3 * MiB);
    const refused = await second.answer;
    expect(refused.status).toBe(503);
    expect(refused.text).toMatch(/MiB or more\) would take them past the 5\.0 MiB/);
    expect(await until(() => spoolFiles().length === 1)).toBe(true);
    expect(uploadSpoolBudget.used).toBeLessThanOrEqual(3 * MiB + head.length);

    first.req.end(tail);
    const done = await outcomes.get('first')!;
    expect(done.read).toBeInstanceOf(SpooledUpload);
    (done.read as SpooledUpload).dispose();
    expect(uploadSpoolBudget.used).toBe(0);
  });

  it('gives the space back when a spooled upload is refused (413 text, 408 stalled) or read whole, and after a decompression bomb', async () => {
    limits = { maxTextBytes: 64 * 1024, maxUploadBytes: 4 * MiB, maxSpoolBytes: BUDGET, spoolDir, idleTimeoutMs: 1000 };
    // A text field past maxTextBytes, spooled from 64 KiB on.
    const field = Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n');
    const textual = openUpload('text', 0, 2 * MiB, { first: field });
    textual.req.end(Buffer.alloc(2 * MiB - field.length, 0x61));
    expect((await textual.answer).status).toBe(413);
    expect(uploadSpoolBudget.used).toBe(0);

    const stalled = openUpload('stalled', 2 * MiB, 3 * MiB);
    expect((await stalled.answer).status).toBe(408);
    expect(uploadSpoolBudget.used).toBe(0);

    const whole = await upload('whole', 2 * MiB);
    await (whole.read as SpooledUpload).whole(32 * MiB);
    expect(uploadSpoolBudget.used).toBe(0);

    const bomb = zlib.gzipSync(Buffer.concat([head, Buffer.alloc(64 * MiB), tail]));
    const { req, answer } = openUpload('bomb', 0, bomb.length, { first: bomb, headers: { 'content-encoding': 'gzip' } });
    req.end();
    expect((await answer).status).toBe(413);
    expect(uploadSpoolBudget.used).toBe(0);
  });
});
