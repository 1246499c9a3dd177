import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { FormData as UndiciFormData } from 'undici';
import { startEdgeBeforeOpenAiOrigin, type EdgeBeforeOpenAiOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * The official openai SDK's multipart uploads (image edits, transcriptions) through the real Edge CLI to a
 * local origin: the prompt in the form is read by the default guardrails (a secret blocks, an email is
 * redacted) while the uploaded file reaches the origin byte for byte; broken and oversized forms are refused.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
const MAX_BODY = 256 * 1024;
/** Bytes a text reader would choke on or mistake for framing: CR LF, dashes, invalid UTF-8. */
const AUDIO = Buffer.concat([Buffer.from('ID3'), Buffer.from([0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0xfe, 0x00, 0xc3]), Buffer.alloc(1024, 7)]);

let running: EdgeBeforeOpenAiOrigin;
let edge: EdgeProcess;
let client: OpenAI;
const received: Array<{ path: string; contentType: string; body: Buffer }> = [];
const globalFormData = globalThis.FormData;

beforeAll(async () => {
  // The SDK builds forms with the global FormData: make it the class the undici fetch (with its proxy dispatcher) sends.
  globalThis.FormData = UndiciFormData as unknown as typeof FormData;
  running = await startEdgeBeforeOpenAiOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end((req.url ?? '').includes('/audio/') ? '{"text":"hello"}' : '{"created":1,"data":[]}');
    });
  }, { maxRequestBodyBytes: MAX_BODY });
  edge = running.edge;
  client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never });
});

afterAll(async () => {
  globalThis.FormData = globalFormData;
  await running?.stop();
});

/** Sends prepared form bytes through Edge as they are. */
async function postForm(path: string, body: Buffer | string, contentType: string) {
  received.length = 0;
  const res = await undiciFetch(`https://api.openai.com${path}`, { method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers: { 'content-type': contentType, authorization: 'Bearer sk-test' }, body });
  return { status: res.status, text: await res.text() };
}

describe('multipart uploads through Edge', () => {
  it('a secret in an image edit\'s prompt is blocked (446) and never reaches the provider', async () => {
    received.length = 0;
    const error = await client.images.edit({ model: 'gpt-image-1', image: await toFile(AUDIO, 'cat.png', { type: 'image/png' }), prompt: `deploy with ${GITHUB_TOKEN}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(446);
    expect((error as Error).message).toContain('in prompt');
    expect(received).toHaveLength(0);
  });

  it('an email in a transcription prompt is redacted; the audio file arrives byte for byte', async () => {
    received.length = 0;
    const result = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(AUDIO, 'talk.mp3', { type: 'audio/mpeg' }), prompt: `Speakers: ${EMAIL}` });
    expect(result.text).toBe('hello');
    expect(received).toHaveLength(1);
    const sent = await new Response(received[0]!.body, { headers: { 'content-type': received[0]!.contentType } }).formData();
    expect(sent.get('prompt')).toBe('Speakers: [REDACTED:email]');
    expect(sent.get('model')).toBe('whisper-1');
    expect(Buffer.from(await (sent.get('file') as File).arrayBuffer())).toEqual(AUDIO);
    expect(received[0]!.body.includes(EMAIL)).toBe(false);
  });

  it('a clean upload is forwarded exactly as the client sent it', async () => {
    const data = new FormData();
    data.append('model', 'gpt-image-1');
    data.append('prompt', 'a hat on the cat');
    data.append('image', new File([AUDIO], 'cat.png', { type: 'image/png' }));
    const request = new Response(data);
    const body = Buffer.from(await request.arrayBuffer());
    const contentType = request.headers.get('content-type')!;
    const res = await postForm('/v1/images/edits', body, contentType);
    expect(res.status).toBe(200);
    expect(received[0]!.contentType).toBe(contentType);
    expect(received[0]!.body.equals(body)).toBe(true);
  });

  it('a form cut off mid-field gets a 400 naming the problem and is not forwarded', async () => {
    const res = await postForm('/v1/images/edits', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmy pro', 'multipart/form-data; boundary=xyz');
    expect(res.status).toBe(400);
    expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(/malformed: part 1 \(field "prompt"\) is cut off/);
    expect(received).toHaveLength(0);
  });

  it('an upload whose text is larger than proxy.maxRequestBodyBytes is refused (413): text is all read', async () => {
    const data = new FormData();
    data.append('model', 'whisper-1');
    data.append('prompt', 'p'.repeat(MAX_BODY + 1));
    data.append('file', new File([Buffer.alloc(1024, 1)], 'short.mp3', { type: 'audio/mpeg' }));
    const request = new Response(data);
    const res = await postForm('/v1/audio/transcriptions', Buffer.from(await request.arrayBuffer()), request.headers.get('content-type')!);
    expect(res.status).toBe(413);
    expect(res.text).toContain('proxy.maxRequestBodyBytes');
    expect(received).toHaveLength(0);
  });
});
