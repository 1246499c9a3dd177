import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { readRequestBody, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import { expectParsed, req, textsOf } from './support.js';

/**
 * OpenAI's multipart uploads that carry text for the model (image edits, transcriptions, videos with a
 * reference): their text fields are read for guardrails and their `model` for model rules; files are not text.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const IMAGE = new File([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])], 'cat.png', { type: 'image/png' });
const AUDIO = new File([Buffer.from('ID3 audio bytes')], 'talk.mp3', { type: 'audio/mpeg' });

async function form(entries: Array<[string, string | File]>): Promise<{ body: Buffer; contentType: string }> {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  const response = new Response(data);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

function recognized(path: string, contentType: string): RecognizedRequest {
  const result = recognizeRequest(req('POST', 'api.openai.com', path, { 'content-type': contentType }), catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`POST ${path} not recognised`);
  return result;
}

/** Reads the body as Edge does and hands back the request, the body value and the way back to bytes. */
function read(path: string, upload: { body: Buffer | string; contentType: string }) {
  const recognition = recognized(path, upload.contentType);
  expect(recognition.route.inspected).toBe(true);
  const body = readRequestBody(recognition, typeof upload.body === 'string' ? upload.body : new Uint8Array(upload.body));
  if (!body.ok) return { error: body.error };
  return { parsed: recognition.adapter.parse(recognition.route, body.value, recognition.entry), value: body.value, encode: body.encode };
}

describe('multipart uploads on OpenAI routes are read', () => {
  it.each([
    ['an image edit', '/v1/images/edits', [['image', IMAGE], ['prompt', 'a hat on the cat'], ['model', 'gpt-image-1'], ['size', '1024x1024']], 'images.edits', 'gpt-image-1', [['user', 'a hat on the cat']]],
    ['an image variation', '/v1/images/variations', [['image', IMAGE], ['model', 'dall-e-2'], ['n', '2']], 'images.variations', 'dall-e-2', []],
    ['a transcription', '/v1/audio/transcriptions', [['file', AUDIO], ['model', 'whisper-1'], ['prompt', 'names: Ada, Grace'], ['known_speaker_names[]', 'Ada']], 'audio.transcriptions', 'whisper-1', [['user', 'names: Ada, Grace'], ['other', 'Ada']]],
    ['a translation', '/v1/audio/translations', [['file', AUDIO], ['model', 'whisper-1'], ['prompt', 'a hint']], 'audio.translations', 'whisper-1', [['user', 'a hint']]],
    ['a video from a reference', '/v1/videos', [['model', 'sora-2'], ['prompt', 'the cat skates'], ['input_reference', IMAGE]], 'videos', 'sora-2', [['user', 'the cat skates']]],
  ] as Array<[string, string, Array<[string, string | File]>, string, string, Array<[string, string]>]>)('%s: operation, model and texts, no file bytes', async (_name, path, entries, operation, model, texts) => {
    const result = read(path, await form(entries));
    const request = expectParsed(result.parsed!);
    expect(request).toMatchObject({ operation, model, inspected: true });
    expect(textsOf(request)).toEqual(texts);
  });

  it('a streamed image edit is a stream (errors go out as its events)', async () => {
    const request = expectParsed(read('/v1/images/edits', await form([['image', IMAGE], ['prompt', 'p'], ['stream', 'true']])).parsed!);
    expect(request.stream).toBe(true);
  });

  it('a redacted prompt is written back into the same form: same boundary, same file bytes', async () => {
    const upload = await form([['image', IMAGE], ['prompt', 'mail jane@acme.com please'], ['model', 'gpt-image-1']]);
    const result = read('/v1/images/edits', upload);
    const rewritten = result.encode!({ ...(result.value as object), prompt: 'mail [REDACTED:email] please' });
    const again = await new Response(rewritten, { headers: { 'content-type': upload.contentType } }).formData();
    expect(again.get('prompt')).toBe('mail [REDACTED:email] please');
    expect(again.get('model')).toBe('gpt-image-1');
    expect(Buffer.from(await (again.get('image') as File).arrayBuffer())).toEqual(Buffer.from(await IMAGE.arrayBuffer()));
  });

  it('an image edit sent as JSON (images by URL or file id) is read like an image generation', () => {
    const body = JSON.stringify({ model: 'gpt-image-1', prompt: 'put my key AKIAIOSFODNN7EXAMPLE on a poster', images: [{ image_url: 'https://example.com/cat.png' }] });
    const { parsed } = read('/v1/images/edits', { body, contentType: 'application/json' });
    const request = expectParsed(parsed!);
    expect(request).toMatchObject({ operation: 'images.edits', model: 'gpt-image-1', inspected: true });
    expect(textsOf(request)).toEqual([['user', 'put my key AKIAIOSFODNN7EXAMPLE on a poster']]);
    expect(read('/v1/images/edits', { body: 'prompt=hi', contentType: 'application/x-www-form-urlencoded' }).error).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it('the other upload routes sent as JSON stay as they were (their roots, unread): they take files only', () => {
    expect(recognized('/v1/images/variations', 'application/json').route).toMatchObject({ operation: 'images', inspected: false });
    expect(recognized('/v1/audio/transcriptions', 'application/json').route).toMatchObject({ operation: 'audio', inspected: false });
  });
});

describe('uploads Edge cannot read the way the provider would are refused, saying why', () => {
  it.each([
    ['a truncated form', '/v1/images/edits', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmy pro', 400, /malformed: part 1 \(field "prompt"\) is cut off/],
    ['a form without a boundary', '/v1/audio/transcriptions', 'multipart/form-data', '--xyz\r\n', 400, /names no boundary/],
    ['a form whose boundary is not in the body', '/v1/images/edits', 'multipart/form-data; boundary=abc', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--xyz--', 400, /no line in it starts with the boundary/],
    ['multipart/mixed', '/v1/images/edits', 'multipart/mixed; boundary=xyz', '--xyz\r\n\r\nx\r\n--xyz--', 415, /only as multipart\/form-data, not multipart\/mixed/],
    ['a prompt sent as a file', '/v1/images/edits', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"; filename="p.txt"\r\n\r\nsecret\r\n--xyz--', 400, /"prompt" field is sent as a file/],
    ['a base64 text field', '/v1/images/edits', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--xyz--', 400, /Content-Transfer-Encoding: base64/],
  ])('%s', (_name, path, contentType, body, status, message) => {
    const result = read(path, { body, contentType });
    expect(result.error).toMatchObject({ status, provider: 'openai' });
    expect(result.error!.message).toMatch(message);
  });

  it.each([
    ['a model named twice', '/v1/images/edits', [['image', IMAGE], ['prompt', 'p'], ['model', 'gpt-image-1'], ['model', 'dall-e-2']], /model is sent more than once/],
    ['an image edit without a prompt', '/v1/images/edits', [['image', IMAGE], ['model', 'gpt-image-1']], /prompt is required/],
    ['a transcription without a model', '/v1/audio/transcriptions', [['file', AUDIO]], /model is required/],
  ] as Array<[string, string, Array<[string, string | File]>, RegExp]>)('%s: 400 naming the field', async (_name, path, entries, message) => {
    const result = read(path, await form(entries));
    expect(result.parsed).toMatchObject({ ok: false, error: { status: 400, type: 'invalid_request' } });
    expect(result.parsed!.ok ? '' : result.parsed!.error.message).toMatch(message);
  });
});

/**
 * Forms the Bifrost gateway reads with Go's mime/multipart (through fasthttp): checked against what that reader
 * makes of the same bytes, a form Edge reads must give the same text fields, else it is refused.
 */
describe('forms Go\'s multipart reader would read otherwise than Edge', () => {
  // Assembled at run time so the repository never holds a credential-shaped literal.
  const SECRET = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0' + 'K1l2M3n4O5p6Q7r8';
  const B = 'xYzBoundary123';
  const CT = `multipart/form-data; boundary=${B}`;
  const crlf = (text: string): Buffer => Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1');
  const part = (disposition: string, content: string): string => `--${B}\nContent-Disposition: form-data; ${disposition}\n\n${content}\n`;

  it('name*=UTF-8\'\'prompt (which Go reads in place of name) with filename="" hiding a prompt before the clean one is refused', () => {
    const body = crlf(`${part('name="image"; filename="a.png"', 'PNG')}${part('name="x"; name*=UTF-8\'\'prompt; filename=""', SECRET)}${part('name="prompt"', 'a hat on the cat')}--${B}--\n`);
    const result = read('/v1/images/edits', { body, contentType: CT });
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(result.error!.message).toMatch(/part 2 has the extended parameter name\* in its Content-Disposition/);
  });

  it('a model hidden the same way from model rules is refused', () => {
    const body = crlf(`${part('name="file"; filename="a.mp3"', 'ID3')}${part('name="y"; name*=UTF-8\'\'model; filename=""', 'gpt-4o-transcribe')}${part('name="model"', 'whisper-1')}--${B}--\n`);
    expect(read('/v1/audio/transcriptions', { body, contentType: CT }).error).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it('an LF-framed form (which Go reads) before a CRLF-framed one (which Edge read) is refused', () => {
    const lfForm = `\n${part('name="prompt"', SECRET)}${part('name="image"; filename="a.png"', 'PNG')}--${B}--\n`;
    const body = Buffer.concat([Buffer.from(lfForm), crlf(`\n${part('name="prompt"', 'a hat on the cat')}--${B}--\n`)]);
    const result = read('/v1/images/edits', { body, contentType: CT });
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(result.error!.message).toMatch(/appears before the first boundary line \(in the preamble\)/);
  });

  it.each([
    ['x="a;boundary=EVIL"; boundary=GOOD (fasthttp reads EVIL")', 'x="a;boundary=EVIL"; boundary=GOOD', 'EVIL"'],
    ['boundary*=utf-8\'\'EVIL; boundary=GOOD (Go\'s mime reads EVIL)', 'boundary*=utf-8\'\'EVIL; boundary=GOOD', 'EVIL'],
  ])('a Content-Type whose boundary a Go server reads otherwise, %s, is refused', (_name, params, evil) => {
    const form = (boundary: string, prompt: string): string => `--${boundary}\nContent-Disposition: form-data; name="prompt"\n\n${prompt}\n--${boundary}\nContent-Disposition: form-data; name="image"; filename="a.png"\n\nPNG\n--${boundary}--\n`;
    const body = crlf(`${form(evil, SECRET)}\n${form('GOOD', 'a hat on the cat')}`);
    const result = read('/v1/images/edits', { body, contentType: `multipart/form-data; ${params}` });
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(result.error!.message).toMatch(/Content-Type has a parameter other than boundary and charset/);
  });

  it('a file name with a quote, as Go\'s multipart.Writer escapes it (filename="my \\"talk\\".mp3"), is read', () => {
    const body = crlf(`${part('name="file"; filename="my \\"talk\\".mp3"', 'ID3')}${part('name="model"', 'whisper-1')}--${B}--\n`);
    expect(expectParsed(read('/v1/audio/transcriptions', { body, contentType: CT }).parsed!)).toMatchObject({ model: 'whisper-1' });
  });

  it('a form as .NET\'s MultipartFormDataContent builds it (text parts with charset=utf-8, filename*) is read', () => {
    const body = crlf(`--${B}\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: form-data; name=model\n\nwhisper-1\n`
      + `--${B}\nContent-Disposition: form-data; name=file; filename=talk.mp3; filename*=utf-8''talk.mp3\n\nID3\n--${B}--\n`);
    expect(expectParsed(read('/v1/audio/transcriptions', { body, contentType: `multipart/form-data; boundary="${B}"` }).parsed!)).toMatchObject({ model: 'whisper-1' });
  });

  it('a form as Apache HttpClient builds it by default (text parts declaring charset=ISO-8859-1) is read when they are ASCII', () => {
    const textPart = (name: string, value: string) => `--${B}\nContent-Disposition: form-data; name="${name}"\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n${value}\n`;
    const body = crlf(`${textPart('model', 'whisper-1')}${textPart('prompt', 'Names: Zyx Corp')}--${B}\nContent-Disposition: form-data; name="file"; filename="talk.mp3"\nContent-Type: audio/mpeg\n\nID3\n--${B}--\n`);
    const request = expectParsed(read('/v1/audio/transcriptions', { body, contentType: CT }).parsed!);
    expect(request).toMatchObject({ model: 'whisper-1' });
    expect(textsOf(request)).toEqual([['user', 'Names: Zyx Corp']]);
  });

  it.each([
    ['a Latin-1 byte in a field declaring charset=ISO-8859-1 (read as Latin-1 by some servers, not by Edge)', 'Content-Type: text/plain; charset=ISO-8859-1\r\n', Buffer.from('caf\xe9 AKIA', 'latin1'), /declares the charset "ISO-8859-1", which Bifrost Edge does not read text fields in beyond ASCII/],
    ['a byte that is not UTF-8 inside the secret (Edge would read U+FFFD there)', '', Buffer.from(`${SECRET.slice(0, 20)}\xff${SECRET.slice(20)}`, 'latin1'), /its "prompt" field is not valid UTF-8 text/],
    ['a UTF-16 part (Edge would read a NUL between each letter)', 'Content-Type: text/plain; charset=utf-16le\r\n', Buffer.from(SECRET, 'utf16le'), /its "prompt" field declares the charset "utf-16le"/],
    ['a charset named twice, one in a quoted parameter', 'Content-Type: text/plain; x="; charset=utf-8"; charset=utf-16le\r\n', Buffer.from(SECRET, 'utf16le'), /its "prompt" field declares its charset in a way/],
  ])('a prompt with %s is refused, naming the field', (_name, header, content, message) => {
    const body = Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="prompt"\r\n${header}\r\n`), content, Buffer.from(`\r\n--${B}--\r\n`)]);
    const result = read('/v1/images/edits', { body, contentType: CT });
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(result.error!.message).toMatch(message);
  });

  it('a form whose _charset_ field (RFC 7578) names another charset than UTF-8 is refused', () => {
    const body = crlf(`${part('name="_charset_"', 'utf-16le')}${part('name="prompt"', 'a hat on the cat')}--${B}--\n`);
    expect(read('/v1/images/edits', { body, contentType: CT }).error?.message).toMatch(/its "_charset_" field names another charset than UTF-8/);
  });

  it('a prompt sent with filename="" is a text field (Go reads it as one): its secret is read', () => {
    const body = crlf(`${part('name="image"; filename="a.png"', 'PNG')}${part('name="prompt"; filename=""', SECRET)}--${B}--\n`);
    const request = expectParsed(read('/v1/images/edits', { body, contentType: CT }).parsed!);
    expect(textsOf(request)).toEqual([['user', SECRET]]);
  });
});

