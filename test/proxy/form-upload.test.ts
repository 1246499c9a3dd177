import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFormUpload, SpooledUpload, type UploadLimits } from '../../src/proxy/form-upload.js';
import { RequestBodyError } from '../../src/proxy/request-body.js';

/**
 * readFormUpload on a real HTTP server fed by a real client: what stays in memory, what is spooled (and how the
 * spool file is made), and the bounds on the whole upload and on its text.
 */

const KiB = 1024;
let spoolDir: string;
let server: http.Server;
let limits: UploadLimits;
let outcome: Promise<{ read?: Buffer | SpooledUpload; error?: RequestBodyError; spoolMode?: number }>;

beforeAll(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-form-upload-'));
  server = http.createServer((req, res) => {
    outcome = readFormUpload(req, 'b', limits).then(
      (read) => {
        const spoolMode = read instanceof SpooledUpload ? fs.statSync(fs.readdirSync(spoolDir).map((name) => path.join(spoolDir, name))[0]!).mode & 0o777 : undefined;
        return { read, ...(spoolMode !== undefined ? { spoolMode } : {}) };
      },
      (error: RequestBodyError) => ({ error }),
    );
    void outcome.then(({ error }) => {
      res.writeHead(error?.edge.status ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

function form(prompt: string, file: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${prompt}\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n`),
    file,
    Buffer.from('\r\n--b--\r\n'),
  ]);
}

/** Posts `body` in 16 KiB writes, without a Content-Length when `chunked`, and waits for the reader's outcome. */
async function send(body: Buffer, chunked = false, contentEncoding?: string) {
  const port = (server.address() as AddressInfo).port;
  const headers = { 'content-type': 'multipart/form-data; boundary=b', ...(chunked ? {} : { 'content-length': body.length }), ...(contentEncoding === undefined ? {} : { 'content-encoding': contentEncoding }) };
  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', () => resolve());
    for (let at = 0; at < body.length; at += 16 * KiB) req.write(body.subarray(at, at + 16 * KiB));
    req.end();
  });
  return outcome;
}

describe('readFormUpload', () => {
  it('keeps an upload under 1 MiB in memory, as every body is read, and writes no file', async () => {
    limits = { maxTextBytes: 32 * 1024 * KiB, maxUploadBytes: 64 * 1024 * KiB, spoolDir };
    const body = form('a hat', Buffer.alloc(900 * KiB, 1));
    const { read } = await send(body);
    expect(Buffer.isBuffer(read) && read.equals(body)).toBe(true);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('spools a larger one to a 0600 file; its text stays in memory, the body comes back from the file', async () => {
    const body = form('a hat', Buffer.alloc(3 * 1024 * KiB, 1));
    const { read, spoolMode } = await send(body, true);
    expect(read).toBeInstanceOf(SpooledUpload);
    const upload = read as SpooledUpload;
    expect(spoolMode).toBe(0o600);
    expect(upload.skeleton.toString()).toBe(form('a hat', Buffer.alloc(0)).toString());
    const chunks: Buffer[] = [];
    for await (const chunk of upload.original().body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    upload.dispose();
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('refuses (413) a form whose text passes proxy.maxRequestBodyBytes, however small its files, and removes the spool', async () => {
    limits = { maxTextBytes: 256 * KiB, maxUploadBytes: 64 * 1024 * KiB, spoolDir };
    const { error } = await send(form('p'.repeat(300 * KiB), Buffer.alloc(10, 1)));
    expect(error?.edge.status).toBe(413);
    expect(error?.edge.message).toContain('proxy.maxRequestBodyBytes');
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('takes a file larger than proxy.maxRequestBodyBytes, and refuses (413) an upload past proxy.maxUploadBytes without a declared length', async () => {
    limits = { maxTextBytes: 256 * KiB, maxUploadBytes: 2 * 1024 * KiB, spoolDir };
    const taken = await send(form('a hat', Buffer.alloc(1024 * KiB, 1)), true);
    expect(taken.read).toBeInstanceOf(SpooledUpload);
    (taken.read as SpooledUpload).dispose();
    const { error } = await send(form('a hat', Buffer.alloc(3 * 1024 * KiB, 1)), true);
    expect(error?.edge.status).toBe(413);
    expect(error?.edge.message).toContain('proxy.maxUploadBytes');
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  for (const coding of ['identity', 'gzip']) {
    it(`refuses (400) an upload (Content-Encoding: ${coding}) whose file breaks the form's framing, in the form reader's words, not as text too large`, async () => {
      limits = { maxTextBytes: 256 * KiB, maxUploadBytes: 64 * 1024 * KiB, spoolDir };
      // The file holds the delimiter `\r\n--b` followed by no boundary line's end: the form's third part starts there, broken.
      const body = form('a hat', Buffer.concat([Buffer.from('GIF89a\r\n--bX'), Buffer.alloc(3 * 1024 * KiB, 1)]));
      const { error } = await send(coding === 'gzip' ? zlib.gzipSync(body) : body, false, coding);
      expect(error?.edge.status).toBe(400);
      expect(error?.edge.message).toContain('is malformed: the boundary line of part 3 goes on after the boundary.');
      expect(fs.readdirSync(spoolDir)).toEqual([]);
    });
  }

  for (const coding of ['identity', 'gzip']) {
    it(`where the route does not read it as a form, spools an upload (Content-Encoding: ${coding}) whose framing breaks to its end, its text no further`, async () => {
      const asked: Array<{ skeleton: string; problem: string }> = [];
      // Text far below the rest of the body: the bytes after the break are not kept as text, so not refused (413) as too much of it.
      limits = { maxTextBytes: 256 * KiB, maxUploadBytes: 64 * 1024 * KiB, spoolDir, onFramingBroken: (skeleton, problem) => {
        asked.push({ skeleton: skeleton.toString('latin1'), problem });
        return undefined;
      } };
      const body = form('a hat', Buffer.concat([Buffer.from('GIF89a\r\n--bX'), Buffer.alloc(3 * 1024 * KiB, 1)]));
      const sent = coding === 'gzip' ? zlib.gzipSync(body) : body;
      const { read, error } = await send(sent, false, coding);
      expect(error).toBeUndefined();
      expect(asked).toHaveLength(1);
      expect(asked[0]!.problem).toBe('the boundary line of part 3 goes on after the boundary');
      expect(asked[0]!.skeleton.length).toBeLessThan(256 * KiB);
      const upload = read as SpooledUpload;
      expect(upload.skeleton.toString('latin1')).toBe(asked[0]!.skeleton);
      expect((await upload.whole(64 * 1024 * KiB)).equals(sent)).toBe(true);
      expect(fs.readdirSync(spoolDir)).toEqual([]);
    });
  }

  it('refuses a form whose framing breaks with what the route says of it, at once', async () => {
    limits = { maxTextBytes: 256 * KiB, maxUploadBytes: 64 * 1024 * KiB, spoolDir, onFramingBroken: (_skeleton, problem) => ({ status: 400, type: 'invalid_request', message: `the route's words: ${problem}` }) };
    const { error } = await send(form('a hat', Buffer.concat([Buffer.from('GIF89a\r\n--bX'), Buffer.alloc(3 * 1024 * KiB, 1)])));
    expect(error?.edge).toEqual({ status: 400, type: 'invalid_request', message: 'the route\'s words: the boundary line of part 3 goes on after the boundary' });
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });
});
