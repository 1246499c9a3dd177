import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECODED_RATIO_CHECKED_PAST, readFormUpload, SpooledUpload, type UploadLimits } from '../../src/proxy/form-upload.js';
import { decodeForInspection, RequestBodyError } from '../../src/proxy/request-body.js';
import { uploadSpoolBudget } from '../../src/proxy/upload-spool-budget.js';
import { until } from '../support/until.js';

/**
 * Compressed uploads Edge must refuse before it forwards them, on a real HTTP server whose requests readFormUpload
 * reads: a bomb that decodes to far more than it was sent as (refused early, not after decoding all of it), and
 * bytes after the end of the compressed data, which Node's decoders drop but other servers' decoders read (zero
 * padding and another gzip member, anything after a deflate or br stream). The in-memory path (decodeForInspection)
 * refuses the latter too.
 */

const MiB = 1024 * 1024;
let spoolDir: string;
let server: http.Server;
let limits: UploadLimits;
let outcome: Promise<{ read?: Buffer | SpooledUpload; error?: RequestBodyError }>;

beforeAll(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-compressed-refusals-'));
  server = http.createServer((req, res) => {
    outcome = readFormUpload(req, 'b', limits).then(
      (read): { read?: Buffer | SpooledUpload; error?: RequestBodyError } => ({ read }),
      (error: RequestBodyError) => ({ error }),
    );
    void outcome.then(({ read, error }) => {
      if (read instanceof SpooledUpload) read.dispose();
      res.writeHead(error?.edge.status ?? 200);
      res.end(error?.edge.message ?? '');
    });
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

/** Posts `body` with `coding` and waits for what the reader made of it. */
async function post(body: Buffer, coding: string) {
  await new Promise<void>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-encoding': coding, 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', reject);
    req.end(body);
  });
  return outcome;
}

const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n');

/** `bytes` of `fill` in a file part, br-compressed as it is written (never held whole). */
async function brotliBomb(fill: string, bytes: number): Promise<Buffer> {
  const encoder = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  const out: Buffer[] = [];
  encoder.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => encoder.once('end', resolve));
  encoder.write(head);
  const piece = Buffer.alloc(MiB, fill);
  for (let i = 0; i < bytes / MiB; i++) if (!encoder.write(piece)) await new Promise((resolve) => encoder.once('drain', resolve));
  encoder.end();
  await ended;
  return Buffer.concat(out);
}

const form = (fileBytes: number) => Buffer.concat([
  Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n'),
  head, Buffer.alloc(fileBytes, 1), Buffer.from('\r\n--b--\r\n'),
]);
const hidden = Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\ndeploy with ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo\r\n--b--\r\n');
/** A form compressed, then bytes Node's decoder does not read: each coding's way to hide a second form. */
const HIDDEN_AFTER: Record<string, (form: Buffer) => [string, Buffer]> = {
  'gzip: a member, zero padding, another member': (f) => ['gzip', Buffer.concat([zlib.gzipSync(f), Buffer.alloc(4), zlib.gzipSync(hidden)])],
  'deflate: the stream, then anything': (f) => ['deflate', Buffer.concat([zlib.deflateSync(f), hidden])],
  'br: the stream, then anything': (f) => ['br', Buffer.concat([zlib.brotliCompressSync(f), hidden])],
};

describe('compressed uploads refused before they are forwarded', () => {
  it('a br bomb of nothing but `--b` is refused (413) as a bomb a few MiB into its decoding, not after all of it', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 512 * MiB, spoolDir };
    // 64 MiB decoded from under 1 KiB: within proxy.maxUploadBytes, so only its ratio refuses it.
    const bomb = await brotliBomb('--b', 64 * MiB);
    expect(bomb.length).toBeLessThan(4096);
    const { read, error } = await post(bomb, 'br');
    expect(read).toBeUndefined();
    expect(error?.edge.status).toBe(413);
    expect(error?.edge.message).toMatch(/decompresses from its Content-Encoding: br to more than 1100 times its size \(.* or more from .*\), which Bifrost Edge refuses as a decompression bomb/);
    // What was decoded before the refusal, as the answer tells it: just past the point the ratio is checked from.
    const decodedMiB = Number(/\(([\d.]+) MiB or more from/.exec(error!.edge.message)?.[1]);
    expect(decodedMiB).toBeGreaterThan(DECODED_RATIO_CHECKED_PAST / MiB - 0.1);
    expect(decodedMiB).toBeLessThan(DECODED_RATIO_CHECKED_PAST / MiB + 1);
    expect(await until(() => fs.readdirSync(spoolDir).length === 0 && uploadSpoolBudget.used === 0)).toBe(true);
  });

  it('a gzip upload of 24 MiB of zeros (about 1030:1, as far as gzip goes) is not taken for a bomb', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 512 * MiB, spoolDir };
    const { read, error } = await post(zlib.gzipSync(Buffer.concat([head, Buffer.alloc(24 * MiB), Buffer.from('\r\n--b--\r\n')]), { level: 9 }), 'gzip');
    expect(error).toBeUndefined();
    expect(read).toBeInstanceOf(SpooledUpload);
  });

  for (const [name, compress] of Object.entries(HIDDEN_AFTER)) {
    for (const [size, fileBytes] of [['spooled', 2 * MiB], ['held in memory', 10]] as const) {
      it(`${name}, ${size}: refused (400) naming the bytes after the compressed data`, async () => {
        limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 512 * MiB, spoolDir };
        const [coding, body] = compress(form(fileBytes));
        const { read, error } = await post(body, coding);
        expect(read).toBeUndefined();
        expect(error?.edge.status).toBe(400);
        expect(error?.edge.message).toMatch(new RegExp(`says Content-Encoding: ${coding} but has [\\d.]+ (bytes|KiB) after the end of its ${coding} data`));
        expect(await until(() => fs.readdirSync(spoolDir).length === 0 && uploadSpoolBudget.used === 0)).toBe(true);
      });
    }

    it(`${name}: refused (400) by the in-memory reader too (decodeForInspection)`, () => {
      const [coding, body] = compress(form(10));
      expect(() => decodeForInspection(body, coding, 32 * MiB)).toThrow(RequestBodyError);
      expect(() => decodeForInspection(body, coding, 32 * MiB)).toThrow(new RegExp(`after the end of its ${coding} data`));
    });
  }

  it('gzip members back to back are one body, read whole in both paths', async () => {
    limits = { maxTextBytes: 32 * MiB, maxUploadBytes: 512 * MiB, spoolDir };
    const whole = form(2 * MiB);
    const body = Buffer.concat([zlib.gzipSync(whole.subarray(0, MiB)), zlib.gzipSync(whole.subarray(MiB))]);
    expect(decodeForInspection(body, 'gzip', 32 * MiB).equals(whole)).toBe(true);
    const { read, error } = await post(body, 'gzip');
    expect(error).toBeUndefined();
    expect(read).toBeInstanceOf(SpooledUpload);
  });
});
