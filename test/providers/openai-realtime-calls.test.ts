import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { readRequestBody, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

/**
 * The Realtime WebRTC offer (`POST /v1/realtime/calls`) sent as multipart/form-data, as OpenAI's WebRTC guide
 * builds it (`sdp` and `session` as text fields): the session's JSON is read for its model, instructions,
 * prompt variables and tools; the SDP offer is no text; a redaction is written back into the form's `session`.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const SDP = 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n';
const SESSION = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'Speak French.',
  prompt: { id: 'pmpt_1', variables: { city: 'Paris' } },
  tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' } }],
};

async function form(entries: Array<[string, string | File]>): Promise<{ body: Buffer; contentType: string }> {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  const response = new Response(data);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

/** A form of text fields with exactly these bytes (FormData would re-encode them as UTF-8). */
function textFieldsByHand(fields: Array<[string, Buffer]>): { body: Buffer; contentType: string } {
  const boundary = 'realtime-offer-boundary';
  const parts = fields.map(([name, bytes]) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), bytes, Buffer.from('\r\n')]));
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The offer as the WebRTC guide sends it: the SDP and the session as JSON text. */
const offer = (session: unknown = SESSION) => form([['sdp', SDP], ['session', typeof session === 'string' ? session : JSON.stringify(session)]]);

function recognized(path: string, contentType: string): RecognizedRequest {
  const result = recognizeRequest(req('POST', 'api.openai.com', path, { 'content-type': contentType }), catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`POST ${path} not recognised`);
  return result;
}

/** Reads the body as Edge does: the request, the body value and the way back to bytes, or the refusal. */
function read(upload: { body: Buffer | string; contentType: string }, path = '/v1/realtime/calls') {
  const recognition = recognized(path, upload.contentType);
  expect(recognition.route).toMatchObject({ operation: 'realtime.calls', inspected: true });
  const body = readRequestBody(recognition, typeof upload.body === 'string' ? upload.body : new Uint8Array(upload.body));
  if (!body.ok) return { error: body.error };
  return { parsed: recognition.adapter.parse(recognition.route, body.value, recognition.entry), value: body.value, encode: body.encode };
}

describe('a Realtime call offer sent as a form', () => {
  it('reads the session: its model, instructions, prompt variables and tools; the SDP is no text', async () => {
    const result = read(await offer());
    const request = expectParsed(result.parsed!);
    expect(request).toMatchObject({ operation: 'realtime.calls', model: 'gpt-realtime', stream: false, inspected: true });
    expect(textsOf(request)).toEqual([['system', 'Speak French.'], ['user', 'Paris']]);
    expect(toolsOf(request)).toEqual([['definition', 'weather']]);
    expectPathsPointAtStrings(result.value, request);
  });

  it('an offer without a session (the form holds only the SDP) has nothing to read and names no model', async () => {
    const request = expectParsed(read(await form([['sdp', SDP]])).parsed!);
    expect(request).toMatchObject({ model: null, texts: [], tools: [] });
  });

  it('a redacted instruction is written into the session field; the SDP and the boundary stay byte for byte', async () => {
    const upload = await offer({ ...SESSION, instructions: 'Mail jane@acme.com the summary.' });
    const result = read(upload);
    const value = result.value as { session: typeof SESSION };
    const rewritten = result.encode!({ ...value, session: { ...value.session, instructions: 'Mail [REDACTED:email] the summary.' } });
    const again = await new Response(rewritten, { headers: { 'content-type': upload.contentType } }).formData();
    expect(JSON.parse(again.get('session') as string)).toEqual({ ...SESSION, instructions: 'Mail [REDACTED:email] the summary.' });
    expect(again.get('sdp')).toBe(SDP);
    const sdpAt = upload.body.indexOf(SDP);
    expect(rewritten.subarray(0, sdpAt + SDP.length)).toEqual(upload.body.subarray(0, sdpAt + SDP.length));
  });

  it('an unchanged session is written back as the client sent it (its own spacing), byte for byte', async () => {
    const upload = await offer(JSON.stringify(SESSION, null, 2));
    const result = read(upload);
    expect(result.encode!(structuredClone(result.value)).equals(upload.body)).toBe(true);
  });

  it.each([
    ['not JSON', () => offer('{"instructions": "hi"'), /The "session" field of the multipart\/form-data body of POST \/v1\/realtime\/calls \(OpenAI API\) is not valid JSON: .* at line 1, column \d+/],
    ['sent twice', () => form([['sdp', SDP], ['session', '{}'], ['session', JSON.stringify(SESSION)]]), /its "session" field is sent 2 times; send it once/],
    ['sent as a file', () => form([['sdp', SDP], ['session', new File([JSON.stringify(SESSION)], 'blob', { type: 'application/json' })]]), /its "session" field is sent as a file; send it as a text field/],
    ['that is not UTF-8', () => Promise.resolve(textFieldsByHand([['sdp', Buffer.from(SDP)], ['session', Buffer.from('{"instructions": "hi \xff"}', 'latin1')]])), /"session" field .* is not valid UTF-8 text/],
    ['with a key the gateway would fold onto instructions', () => offer('{"instructions": "hi", "Instructions": "other"}'), /"session" field .* has the field "instructions" twice in session, in different letter case/],
    ['with a key twice (Go merges the two objects)', () => offer('{"audio": {"input": {"transcription": {"prompt": "AKIA…"}}}, "audio": {"output": {}}}'), /"session" field .* has the same key twice in session: .* Go readers/],
  ])('a session field %s is refused with a 400 naming it', async (_name, build, message) => {
    const result = read(await build());
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(result.error!.message).toMatch(message);
  });

  it('a session that is JSON but not an object is a 400 naming the field', async () => {
    const error = expectFailed(read(await offer('"be nice"')).parsed!);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/session must be an object/);
  });
});

describe('the other ways to start and control a Realtime call stay as they were', () => {
  it('a plain SDP offer (application/sdp) has nothing to read: the unread `realtime` route', () => {
    expect(recognized('/v1/realtime/calls', 'application/sdp').route).toMatchObject({ operation: 'realtime', inspected: false });
  });

  it('accepting a call is read as a session (JSON)', () => {
    expect(recognized('/v1/realtime/calls/rtc_1/accept', 'application/json').route).toMatchObject({ operation: 'realtime.sessions', inspected: true });
  });

  it.each(['hangup', 'refer', 'reject'])('the %s call control carries no text: unread, even sent as a form', (control) => {
    expect(recognized(`/v1/realtime/calls/rtc_1/${control}`, 'application/json').route).toMatchObject({ operation: 'realtime', inspected: false });
    expect(recognized(`/v1/realtime/calls/rtc_1/${control}`, 'multipart/form-data; boundary=x').route).toMatchObject({ operation: 'realtime', inspected: false });
  });
});
