import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFormUpload, SpooledUpload } from '../../src/proxy/form-upload.js';
import { UploadSpool } from '../../src/proxy/upload-spool.js';
import { openPost, startBodyReadingServer, type BodyReadingServer } from '../support/body-reading-server.js';
import { until } from '../support/until.js';

/**
 * How a spooled upload ends when something goes wrong besides the client: an upload that stops arriving (on a
 * real HTTP server without a bound on the whole request, as the proxy's servers are), and a spool file that
 * cannot be removed.
 */

const MiB = 1024 * 1024;
let spoolDir: string;
let server: BodyReadingServer<Buffer | SpooledUpload>;
beforeAll(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-spool-failures-'));
  server = await startBodyReadingServer((req) => readFormUpload(req, 'b', { maxTextBytes: 32 * MiB, maxUploadBytes: 64 * MiB, spoolDir, idleTimeoutMs: 300 }));
});

afterAll(async () => {
  await server.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const head = Buffer.from('--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n');

/** Sends `pieces` of an upload declared far larger, `gapMs` apart, then stops sending (the socket stays open). */
async function sendThenStall(pieces: Buffer[], gapMs: number): Promise<{ status: Promise<number>; req: http.ClientRequest }> {
  const { req, status } = openPost(server.port, { 'content-type': 'multipart/form-data; boundary=b', 'content-length': 60 * MiB });
  for (const piece of pieces) {
    req.write(piece);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { status, req };
}

describe('a spooled upload that stops arriving', () => {
  it('is refused with 408 once no bytes came for the idle bound, and its spool is removed; a slow but steady one is not', async () => {
    // 2 MiB at once (spooled), then 100 ms apart for a second in all: longer than the bound, never idle that long.
    const steady = await sendThenStall([head, Buffer.alloc(2 * MiB, 1), ...Array.from({ length: 10 }, () => Buffer.alloc(1024, 1))], 100);
    expect(await until(() => fs.readdirSync(spoolDir).length === 1)).toBe(true);
    const { error, ms } = await server.latest()!;
    expect(error?.edge).toMatchObject({ status: 408, type: 'request_timeout' });
    expect(ms).toBeGreaterThan(1000);
    expect(await steady.status).toBe(408);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
    steady.req.destroy();
  });
});

describe('a spool file that cannot be removed', () => {
  it('does not throw from dispose (it runs in a close listener): it is reported, left for the next start', () => {
    const left: Array<{ file: string; err: Error }> = [];
    const spool = UploadSpool.create(spoolDir, (file, err) => left.push({ file, err }));
    // rm cannot remove a non-empty directory where the file was: a removal that fails, as EBUSY or EACCES would.
    fs.rmSync(spool.path);
    fs.mkdirSync(spool.path);
    fs.writeFileSync(path.join(spool.path, 'inside'), 'x');
    expect(() => spool.dispose()).not.toThrow();
    expect(left).toHaveLength(1);
    expect(left[0]!.file).toBe(spool.path);
    fs.rmSync(spool.path, { recursive: true });
  });
});

describe('a spool removed while its body is still being forwarded', () => {
  it('ends the forwarded body quietly (an unheard stream error would crash the agent), unfinished', async () => {
    const port = server.port;
    const body = Buffer.concat([head, Buffer.alloc(8 * MiB, 1), Buffer.from('\r\n--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--b--\r\n')]);
    await new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' } }, (res) => {
        res.resume();
        res.once('end', resolve);
      });
      req.end(body);
    });
    const upload = (await server.latest()!).read as SpooledUpload;
    const uncaught: Error[] = [];
    const onUncaught = (err: Error) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    for (const out of [upload.rebuilt(upload.skeleton).body, upload.original().body]) {
      // A slow upstream: the body is mid-read when the client leaves and the exchange's end removes the spool.
      let finished = false;
      const upstream = new Writable({ highWaterMark: 1024, write: (_chunk, _encoding, callback) => setTimeout(callback, 5) });
      upstream.once('finish', () => { finished = true; });
      out.pipe(upstream);
      await new Promise((resolve) => setTimeout(resolve, 50));
      upload.dispose();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(out.destroyed).toBe(true);
      expect(finished).toBe(false);
      upstream.destroy();
    }
    process.off('uncaughtException', onUncaught);
    expect(uncaught).toEqual([]);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });
});
