import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFormUpload, SpooledUpload, type UploadProgressReport } from '../../src/proxy/form-upload.js';
import { openPost, startBodyReadingServer, type BodyReadingServer } from '../support/body-reading-server.js';

/**
 * The progress readFormUpload reports for a spooled upload still arriving (Edge logs it at debug level), on a real
 * HTTP server: every step in bytes or in time, whichever comes first, never for one held in memory.
 */

const MiB = 1024 * 1024;
let spoolDir: string;
let server: BodyReadingServer<Buffer | SpooledUpload>;
let step = { everyBytes: MiB, everyMs: 3_600_000 };
const reports: UploadProgressReport[] = [];

beforeAll(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-upload-progress-'));
  server = await startBodyReadingServer((req) => readFormUpload(req, 'b', {
    maxTextBytes: 32 * MiB, maxUploadBytes: 64 * MiB, spoolDir, progress: { ...step, report: (p) => reports.push(p) },
  }));
});

afterEach(async () => {
  const read = (await server.latest())?.read;
  if (read instanceof SpooledUpload) read.dispose();
  server.forget();
  reports.length = 0;
});

afterAll(async () => {
  await server.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n');
const tail = Buffer.from('\r\n--b--\r\n');

/** Posts the pieces `gapMs` apart in 64 KiB writes and waits for the answer. */
async function send(pieces: Buffer[], gapMs = 0, headers: Record<string, string> = {}): Promise<number> {
  const { req, status } = openPost(server.port, { 'content-type': 'multipart/form-data; boundary=b', ...headers });
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; at += 64 * 1024) req.write(piece.subarray(at, at + 64 * 1024));
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  req.end();
  return status;
}

describe('the progress of a spooled upload', () => {
  it('is reported each step of bytes while it arrives, in order', async () => {
    step = { everyBytes: MiB, everyMs: 3_600_000 };
    expect(await send([head, Buffer.alloc(6 * MiB, 1), tail])).toBe(200);
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < reports.length; i++) expect(reports[i]!.received - reports[i - 1]!.received).toBeGreaterThanOrEqual(MiB);
    expect(reports.at(-1)!.received).toBeLessThanOrEqual(6 * MiB + head.length + tail.length);
    expect(reports[0]).not.toHaveProperty('decoded');
  });

  it('is reported after a step of time when the bytes come slowly', async () => {
    step = { everyBytes: 64 * MiB, everyMs: 200 };
    expect(await send([head, Buffer.alloc(2 * MiB, 1), ...Array.from({ length: 8 }, () => Buffer.alloc(1024, 1)), tail], 100)).toBe(200);
    expect(reports.length).toBeGreaterThanOrEqual(2);
  });

  it('says how much a compressed upload decoded to', async () => {
    step = { everyBytes: 256 * 1024, everyMs: 3_600_000 };
    // Random bytes hardly compress: the body is spooled, and received bytes grow with each write.
    const body = zlib.gzipSync(Buffer.concat([head, randomBytes(3 * MiB), tail]), { level: 1 });
    expect(await send([body], 0, { 'content-encoding': 'gzip' })).toBe(200);
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) expect(report.decoded).toBeGreaterThan(report.received / 2);
  });

  it('is not reported for an upload held in memory', async () => {
    step = { everyBytes: 1, everyMs: 0 };
    expect(await send([head, Buffer.alloc(512 * 1024, 1), tail])).toBe(200);
    expect(reports).toEqual([]);
  });
});
