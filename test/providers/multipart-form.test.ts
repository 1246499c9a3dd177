import { describe, expect, it } from 'vitest';
import { boundaryOf, partText, readMultipartForm, rewriteMultipartForm, type MultipartForm } from '../../src/providers/multipart-form.js';

/**
 * Edge's multipart/form-data reader against the encoder and parser Node ships (undici's FormData and
 * Response.formData()): same fields, same file bytes; a rewritten form differs only in the field it changed.
 */

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x2d, 0x2d, 0x0d, 0x0a]);

/** A form as Node's own encoder writes it: the bytes and the Content-Type with its boundary. */
async function encode(entries: Array<[string, string | File]>): Promise<{ body: Buffer; contentType: string }> {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  const response = new Response(data);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

function read(body: Buffer, contentType: string): MultipartForm {
  const boundary = boundaryOf(contentType);
  if (!boundary.ok) throw new Error(boundary.problem);
  const form = readMultipartForm(body, boundary.boundary);
  if (!form.ok) throw new Error(form.problem);
  return form.form;
}

/** What Node's parser makes of a form: text fields as text, files as [name, filename, bytes]. */
async function nodeReads(body: Buffer, contentType: string): Promise<Array<[string, string] | [string, string, string]>> {
  const data = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const out: Array<[string, string] | [string, string, string]> = [];
  for (const [name, value] of data.entries()) {
    out.push(typeof value === 'string' ? [name, value] : [name, value.name, Buffer.from(await value.arrayBuffer()).toString('hex')]);
  }
  return out;
}

function edgeReads(form: MultipartForm): Array<[string, string] | [string, string, string]> {
  return form.parts.map((p) => (p.filename === undefined
    ? [p.name, partText(form, p)]
    : [p.name, p.filename, form.body.subarray(p.start, p.end).toString('hex')]));
}

describe('reading a form', () => {
  it.each([
    ['a prompt and an image', [['model', 'gpt-image-1'], ['prompt', 'a cat wearing a hat'], ['image', new File([PNG], 'cat.png', { type: 'image/png' })]]],
    ['repeated names, unicode, an empty field, lines in a field', [['image[]', new File([PNG], 'a.png')], ['image[]', new File([PNG], 'b.png')], ['prompt', 'zwei Katzen 🐱\r\nauf einem Dach'], ['user', '']]],
  ] as Array<[string, Array<[string, string | File]>]>)('%s: the same fields and file bytes as Response.formData()', async (_name, entries) => {
    const { body, contentType } = await encode(entries);
    expect(edgeReads(read(body, contentType))).toEqual(await nodeReads(body, contentType));
  });

  it('skips a preamble and an epilogue, and allows padding after a boundary (curl, RFC 2046)', async () => {
    const body = Buffer.from('preamble line\r\n--xyz  \r\nContent-Disposition: form-data; name=prompt\r\n\r\nhello\r\n--xyz--\r\nepilogue -- xyz');
    const form = read(body, 'multipart/form-data; boundary="xyz"');
    expect(edgeReads(form)).toEqual([['prompt', 'hello']]);
  });

  it.each([
    ['undici / openai-node', 'multipart/form-data; boundary=----formdata-undici-027853512916', '----formdata-undici-027853512916'],
    ['curl -F', 'multipart/form-data; boundary=------------------------d74496d66958873e', '------------------------d74496d66958873e'],
    ['httpx (openai-python) and Go\'s multipart.Writer', 'multipart/form-data; boundary=5f1c2b0e9a7d4c3b8e6f1a2d3c4b5a69', '5f1c2b0e9a7d4c3b8e6f1a2d3c4b5a69'],
    ['.NET (quoted)', 'multipart/form-data; boundary="9b5f3c1e-7d2a-4c8b-a1f0-2e6d8c4b0a17"', '9b5f3c1e-7d2a-4c8b-a1f0-2e6d8c4b0a17'],
    ['a charset (Java clients)', 'multipart/form-data; charset=UTF-8; boundary=abc', 'abc'],
  ])('reads the boundary %s sends', (_name, contentType, boundary) => {
    expect(boundaryOf(contentType)).toEqual({ ok: true, boundary });
  });

  it.each([
    ['Go\'s multipart.Writer escapes a quote in it', 'filename="my \\"talk\\".mp3"', 'my "talk".mp3'],
    ['an escaped quote and ; do not end it', 'filename="x\\"; name=\\"prompt"', 'x"; name="prompt'],
  ])('a quoted filename with backslash escapes is read (%s)', (_name, filename, read_) => {
    const body = Buffer.from(`--xyz\r\nContent-Disposition: form-data; name="file"; ${filename}\r\n\r\nID3\r\n--xyz--`);
    expect(edgeReads(read(body, 'multipart/form-data; boundary=xyz'))).toEqual([['file', read_, Buffer.from('ID3').toString('hex')]]);
  });

  it.each([
    ['filename=""', 'filename=""'],
    ['filename*=utf-8\'\' (which Go prefers to filename)', 'filename="cat.png"; filename*=utf-8\'\''],
  ])('a part with an empty %s is a text field, as Go\'s reader (the Bifrost gateway\'s) reads it', (_name, filename) => {
    const body = Buffer.from(`--xyz\r\nContent-Disposition: form-data; name="prompt"; ${filename}\r\n\r\nhello\r\n--xyz--`);
    expect(edgeReads(read(body, 'multipart/form-data; boundary=xyz'))).toEqual([['prompt', 'hello']]);
  });

  it('a part with a filename, or a utf-8 filename* (.NET), is a file', () => {
    const body = Buffer.from('--xyz\r\nContent-Disposition: form-data; name=file; filename=talk.mp3; filename*=utf-8\'\'t%C3%A4lk.mp3\r\n\r\nID3\r\n--xyz--');
    expect(edgeReads(read(body, 'multipart/form-data; boundary=xyz'))).toEqual([['file', 'tälk.mp3', Buffer.from('ID3').toString('hex')]]);
  });

  it.each([
    ['no boundary parameter', 'multipart/form-data', '--x\r\n', /names no boundary/],
    ['a boundary with characters RFC 2046 does not allow', 'multipart/form-data; boundary="a[b]"', '--a[b]\r\n', /not a valid multipart boundary/],
    ['two boundary parameters', 'multipart/form-data; boundary=a; boundary=b', '--a\r\n', /malformed|twice/],
    ['a parameter holding boundary= (fasthttp scans for it)', 'multipart/form-data; x="a;boundary=EVIL"; boundary=GOOD', '--GOOD\r\n', /parameter other than boundary and charset \(x\)/],
    ['an RFC 2231 boundary* (Go reads it in place of boundary)', 'multipart/form-data; boundary*=utf-8\'\'EVIL; boundary=GOOD', '--GOOD\r\n', /parameter other than boundary and charset \(boundary\*\)/],
    ['boundary= twice', 'multipart/form-data; charset="boundary=EVIL"; boundary=GOOD', '--GOOD\r\n', /names boundary= more than once/],
    ['a boundary followed by a space (fasthttp keeps it)', 'multipart/form-data; boundary=GOOD ; charset=utf-8', '--GOOD\r\n', /boundary is not written plainly/],
    ['a quoted boundary with a backslash escape (Go keeps the backslash)', 'multipart/form-data; boundary="a\\bc"', '--abc\r\n', /boundary is not written plainly/],
    ['a body without the boundary', 'multipart/form-data; boundary=xyz', 'hello', /no line in it starts with the boundary/],
    ['a body cut off inside a field', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhel', /cut off/],
    ['a body cut off after a boundary', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz', /cut off/],
    ['headers that never end', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n', /do not end with an empty line/],
    ['a part without a name', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xyz--', /no field name/],
    ['a part without Content-Disposition', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Type: text/plain\r\n\r\nx\r\n--xyz--', /no Content-Disposition/],
    ['a folded header line', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data;\r\n name="prompt"\r\n\r\nx\r\n--xyz--', /malformed header line/],
    ['a backslash in a field name', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="pro\\mpt"\r\n\r\nx\r\n--xyz--', /backslash/],
    ['an escaped quote in a field name', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="a\\"b"\r\n\r\nx\r\n--xyz--', /backslash in its field name/],
    ['a name given twice', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="a"; name="prompt"\r\n\r\nx\r\n--xyz--', /names its name twice/],
    ['two Content-Disposition headers', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--xyz--', /two content-disposition/],
    ['a preamble holding an LF-framed form (Go reads that one)', 'multipart/form-data; boundary=xyz', '\n--xyz\nContent-Disposition: form-data; name="prompt"\n\nsecret\n--xyz--\n\r\n--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nclean\r\n--xyz--', /boundary .* appears before the first boundary line \(in the preamble\)/],
    ['a preamble line holding the boundary', 'multipart/form-data; boundary=xyz', 'x--xyz\r\n--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nclean\r\n--xyz--', /in the preamble/],
    ['an epilogue holding the boundary', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nclean\r\n--xyz--\r\n--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nsecret\r\n--xyz--', /after the closing boundary \(in the epilogue\)/],
    ['a field holding the boundary after a bare LF', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nclean\n--xyz\nContent-Disposition: form-data; name="model"\n\nx\r\n--xyz--', /inside part 1/],
    ['an RFC 2231 name* (Go reads it in place of name)', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="x"; name*=UTF-8\'\'prompt\r\n\r\nx\r\n--xyz--', /extended parameter name\* .*name="…"/],
    ['an RFC 2231 name continuation (name*0)', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="x"; name*0="pro"; name*1="mpt"\r\n\r\nx\r\n--xyz--', /extended parameter name\*0/],
    ['a filename continuation (filename*0)', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="image"; filename*0="a.png"\r\n\r\nx\r\n--xyz--', /extended parameter filename\*0/],
    ['a filename* that is not utf-8\'\'…', 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="image"; filename*=latin1\'\'a.png\r\n\r\nx\r\n--xyz--', /filename\* .*utf-8''/],
  ])('refuses %s, saying what is wrong', (_name, contentType, body, problem) => {
    const boundary = boundaryOf(contentType);
    const result = boundary.ok ? readMultipartForm(Buffer.from(body), boundary.boundary) : boundary;
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problem).toMatch(problem);
  });
});

describe('rewriting a form', () => {
  it('replaces only the changed field: file bytes, headers and boundary stay as they were', async () => {
    const { body, contentType } = await encode([['image', new File([PNG], 'cat.png', { type: 'image/png' })], ['prompt', 'mail jane@acme.com'], ['model', 'gpt-image-1']]);
    const form = read(body, contentType);
    const prompt = form.parts.find((p) => p.name === 'prompt')!;
    const rewritten = rewriteMultipartForm(form, new Map([[prompt, 'mail [REDACTED:email]']]));
    expect(await nodeReads(rewritten, contentType)).toEqual([['image', 'cat.png', PNG.toString('hex')], ['prompt', 'mail [REDACTED:email]'], ['model', 'gpt-image-1']]);
    expect(rewritten.subarray(0, prompt.start)).toEqual(body.subarray(0, prompt.start));
    expect(rewritten.subarray(prompt.start + 'mail [REDACTED:email]'.length)).toEqual(body.subarray(prompt.end));
  });

  it('appends a new text field before the closing boundary', async () => {
    const { body, contentType } = await encode([['prompt', 'hi'], ['image', new File([PNG], 'cat.png')]]);
    const rewritten = rewriteMultipartForm(read(body, contentType), new Map(), [{ name: 'model', value: 'openai/gpt-image-1' }]);
    expect(await nodeReads(rewritten, contentType)).toEqual([['prompt', 'hi'], ['image', 'cat.png', PNG.toString('hex')], ['model', 'openai/gpt-image-1']]);
  });

  it('refuses a value that would contain the boundary delimiter', async () => {
    const { body, contentType } = await encode([['prompt', 'hi']]);
    const form = read(body, contentType);
    expect(() => rewriteMultipartForm(form, new Map([[form.parts[0]!, `x\r\n--${form.boundary}--`]]))).toThrow(/boundary/);
  });
});
