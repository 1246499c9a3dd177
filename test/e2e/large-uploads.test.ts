import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { FormData as UndiciFormData } from 'undici';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, tlsThroughProxy, undiciFetch } from '../support/proxy-clients.js';
import { until } from '../support/until.js';

/**
 * Uploads larger than proxy.maxRequestBodyBytes (left at its 32 MiB default) through the real Edge CLI to a local
 * origin: their text is inspected as any form's, their files are held in a spool file (in Edge's data directory,
 * `uploads/`) and reach the origin byte for byte, in bounded memory; the spool is gone when the
 * exchange ends, however it ends.
 */

const MiB = 1024 * 1024;
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
/** 40 MiB that a text reader would mistake for framing here and there (CR LF and dashes). */
const BIG = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), randomBytes(40 * MiB - 8)]);
for (let at = 4096; at < BIG.length; at += 1_000_003) BIG.write('\r\n--', at, 'latin1');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What the origin got: the body's hash, and the body itself unless it is larger than the 40 MiB uploads. */
interface Received { path: string; headers: Record<string, string | string[] | undefined>; sha256: string; body: Buffer }

let running: EdgeBeforeOpenAiOrigin;
let edge: EdgeProcess;
let client: OpenAI;
const received: Received[] = [];
const globalFormData = globalThis.FormData;

/** The origin: it keeps what it got and answers as the API would; on /videos it fails, dropping the connection once the upload has begun. */
const answer: http.RequestListener = (req, res) => {
  if (req.url?.includes('/videos')) {
    req.once('data', () => req.socket.destroy());
    return;
  }
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let size = 0;
  req.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
    if (size <= 64 * MiB) chunks.push(c);
  });
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, sha256: hash.digest('hex'), body: Buffer.concat(chunks) });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end((req.url ?? '').includes('/audio/') ? '{"text":"hello"}' : '{"created":1,"data":[]}');
  });
};

beforeAll(async () => {
  globalThis.FormData = UndiciFormData as unknown as typeof FormData;
  running = await startEdgeBeforeOpenAiOrigin(answer);
  edge = running.edge;
  client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never });
}, 60_000);

afterAll(async () => {
  globalThis.FormData = globalFormData;
  await running?.stop();
});

/** The spool files an Edge holds now, in its data directory's uploads/ (created with the first upload). */
const spoolFiles = (of: EdgeProcess = edge) => {
  const dir = path.join(of.dataDir, 'uploads');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.startsWith('bifrost-edge-upload-')) : [];
};

/** Edge's peak resident memory so far (kB), as Linux reports it. */
function peakRssKb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]);
}

/** An image edit form as the SDKs write it, as bytes with its Content-Type. */
async function imageEditForm(prompt: string, image: Buffer): Promise<{ body: Buffer; contentType: string }> {
  const data = new UndiciFormData();
  data.append('model', 'gpt-image-1');
  data.append('prompt', prompt);
  data.append('image[]', new File([image], 'cat.png', { type: 'image/png' }));
  const request = new Response(data as unknown as FormData);
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

async function post(urlPath: string, body: Buffer | ReadableStream<Uint8Array>, contentType: string) {
  received.length = 0;
  const res = await undiciFetch(`https://api.openai.com${urlPath}`, {
    method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers: { 'content-type': contentType, authorization: 'Bearer sk-test' },
    body, ...(Buffer.isBuffer(body) ? {} : { duplex: 'half' as const }),
  });
  return { status: res.status, text: await res.text() };
}

/** Opens TLS to api.openai.com through Edge and sends the head and the first bytes of an upload of `declared` bytes. */
async function startUpload(target: EdgeProcess, declared: number, first: Buffer, boundary: string): Promise<tls.TLSSocket> {
  const { socket } = await tlsThroughProxy(target.proxyUrl, 'api.openai.com', 443, { ca: target.caPem });
  socket.on('error', () => {});
  socket.write(`POST /v1/images/edits HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n`);
  socket.write(first);
  return socket;
}

describe('large multipart uploads through Edge', () => {
  it('Edge reads a 160 MiB upload in bounded memory: its peak RSS grows by less than half of it', async () => {
    const small = await imageEditForm('warm up', Buffer.from('tiny'));
    await post('/v1/images/edits', small.body, small.contentType);
    const before = peakRssKb(edge.child.pid!);
    // Streamed from one random MiB, so the test holds none of it; the file part is 160 MiB of it repeated.
    const template = await imageEditForm('a hat on the cat', Buffer.from('FILE'));
    const [head, tail] = template.body.toString('latin1').split('FILE').map((text) => Buffer.from(text, 'latin1'));
    const piece = randomBytes(MiB);
    const pieces = [head!, ...Array.from({ length: 160 }, () => piece), tail!];
    const hash = createHash('sha256');
    let next = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next === pieces.length) {
          controller.close();
          return;
        }
        hash.update(pieces[next]!);
        controller.enqueue(pieces[next++]!);
      },
    });
    const res = await post('/v1/images/edits', stream, template.contentType);
    const growthKb = peakRssKb(edge.child.pid!) - before;
    expect(res.status).toBe(200);
    expect(received[0]!.sha256).toBe(hash.digest('hex'));
    expect(growthKb * 1024).toBeLessThan((160 * MiB) / 2);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('a 40 MiB upload reaches the origin byte for byte, sized as sent', async () => {
    const form = await imageEditForm('a hat on the cat', BIG);
    const res = await post('/v1/images/edits', form.body, form.contentType);
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-length']).toBe(String(form.body.length));
    expect(received[0]!.sha256).toBe(sha256(form.body));
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('a chunked upload goes out chunked, byte for byte', async () => {
    const form = await imageEditForm('a hat on the cat', BIG);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < form.body.length; at += MiB) controller.enqueue(form.body.subarray(at, at + MiB));
        controller.close();
      },
    });
    const res = await post('/v1/images/edits', stream, form.contentType);
    expect(res.status).toBe(200);
    expect(received[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(received[0]!.headers['content-length']).toBeUndefined();
    expect(received[0]!.sha256).toBe(sha256(form.body));
  });

  it('the openai SDK\'s images.edit with a 40 MiB PNG: the origin gets the image and the prompt', async () => {
    received.length = 0;
    await client.images.edit({ model: 'gpt-image-1', image: await toFile(BIG, 'cat.png', { type: 'image/png' }), prompt: 'a hat on the cat' });
    expect(received).toHaveLength(1);
    const sent = await new Response(received[0]!.body, { headers: { 'content-type': String(received[0]!.headers['content-type']) } }).formData();
    expect(sent.get('prompt')).toBe('a hat on the cat');
    expect(sha256(Buffer.from(await (sent.get('image') as File).arrayBuffer()))).toBe(sha256(BIG));
  });

  it('the openai SDK\'s transcription of a 40 MiB file: an email in its prompt is redacted, the file arrives whole', async () => {
    received.length = 0;
    const result = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(BIG, 'talk.mp3', { type: 'audio/mpeg' }), prompt: `Speakers: ${EMAIL}` });
    expect(result.text).toBe('hello');
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-length']).toBe(String(received[0]!.body.length));
    const sent = await new Response(received[0]!.body, { headers: { 'content-type': String(received[0]!.headers['content-type']) } }).formData();
    expect(sent.get('prompt')).toBe('Speakers: [REDACTED:email]');
    expect(sent.get('model')).toBe('whisper-1');
    expect(sha256(Buffer.from(await (sent.get('file') as File).arrayBuffer()))).toBe(sha256(BIG));
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('a secret in the prompt of a 40 MiB image edit is blocked (446), never forwarded, and its spool is removed', async () => {
    received.length = 0;
    const error = await client.images.edit({ model: 'gpt-image-1', image: await toFile(BIG, 'cat.png', { type: 'image/png' }), prompt: `deploy with ${GITHUB_TOKEN}` }).catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(446);
    expect((error as Error).message).toContain('in prompt');
    expect(received).toHaveLength(0);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('an upload declared larger than proxy.maxUploadBytes (512 MiB by default) is refused with 413 at once', async () => {
    const socket = await startUpload(edge, 600 * MiB, Buffer.from('--b\r\n'), 'b');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('}')) resolve(text);
      });
    });
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('proxy.maxUploadBytes');
  });

  it('a client that leaves mid-upload leaves no spool file', async () => {
    const form = await imageEditForm('a hat on the cat', BIG);
    const boundary = /boundary=(.+)$/.exec(form.contentType)![1]!;
    const socket = await startUpload(edge, form.body.length, form.body.subarray(0, 8 * MiB), boundary);
    expect(await until(() => spoolFiles().length === 1, 10_000)).toBe(true);
    socket.destroy();
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
    expect(received).toHaveLength(0);
  });

  it('an upstream that fails mid-upload: the client gets 502 and no spool file is left', async () => {
    const form = await imageEditForm('a hat on the cat', BIG);
    const res = await post('/v1/videos', form.body, form.contentType);
    expect(res.status).toBe(502);
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
  });

  it('Edge stopping mid-upload removes the spool file', async () => {
    const stopping = await startEdgeBeforeOpenAiOrigin(answer);
    const form = await imageEditForm('a hat on the cat', BIG);
    const boundary = /boundary=(.+)$/.exec(form.contentType)![1]!;
    const socket = await startUpload(stopping.edge, form.body.length, form.body.subarray(0, 8 * MiB), boundary);
    expect(await until(() => spoolFiles(stopping.edge).length === 1, 10_000)).toBe(true);
    await stopping.stop();
    socket.destroy();
    expect(spoolFiles(stopping.edge)).toEqual([]);
  });
});
