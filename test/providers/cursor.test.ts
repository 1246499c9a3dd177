import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { edgeError } from '../../src/edge-error.js';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { connectCodeFor } from '../../src/providers/connect-error.js';
import { cursorAdapter } from '../../src/providers/cursor.js';
import { looksLikeModelName, modelFromTexts } from '../../src/providers/cursor-model.js';
import { errorResponseFor, parseRequest, readRequestBody, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { HttpRequestInfo } from '../../src/providers/types.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { ALNUM, Fake, j } from '../guardrails/corpus/fake-data.js';
import { concat, cursorChatRequest, decodeFlat, envelope, pb } from './protobuf-support.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req } from './support.js';

const HOST = 'api2.cursor.sh';
const CHAT = '/aiserver.v1.ChatService/StreamUnifiedChatWithTools';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const entry = catalog.match(HOST)!;
const githubToken = j('gh', 'p_', new Fake('cursor-adapter').str(ALNUM, 36));
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';

const STREAMING = { 'content-type': 'application/connect+proto', 'connect-protocol-version': '1' };
const UNARY = { 'content-type': 'application/proto', 'connect-protocol-version': '1' };

function recognized(path: string, headers: HttpRequestInfo['headers']): RecognizedRequest {
  const result = recognizeRequest(req('POST', HOST, path, headers), catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`${path} not recognised`);
  return result;
}

function policy() {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  return compiled.policy;
}

describe('cursor adapter: routes', () => {
  it.each([
    ['POST', CHAT, STREAMING, 'cursor:aiserver.v1.ChatService/StreamUnifiedChatWithTools:stream'],
    ['POST', '/aiserver.v1.AiService/StreamChat', { 'content-type': 'application/connect+proto; charset=utf-8' }, 'cursor:aiserver.v1.AiService/StreamChat:stream'],
    ['POST', '/aiserver.v1.BidiService/BidiAppend', UNARY, 'cursor:aiserver.v1.BidiService/BidiAppend:unary'],
    ['POST', '/GreetService/Greet', { 'content-type': 'Application/Proto' }, 'cursor:GreetService/Greet:unary'],
    ['POST', CHAT, { 'content-type': 'application/json' }, 'unrecognized:pass'],
    ['POST', CHAT, { 'content-type': 'application/connect+json' }, 'unrecognized:pass'],
    ['POST', CHAT, {}, 'unrecognized:pass'],
    ['GET', '/aiserver.v1.AiService/GetDefaultModel?encoding=proto&message=CgA', UNARY, 'unrecognized:pass'],
    ['POST', '/aiserver.v1.ChatService/StreamUnifiedChatWithTools/extra', STREAMING, 'unrecognized:pass'],
    // Cursor's unknown routes pass, but not this one: upstream it would arrive as AiService/StreamChat, unread.
    ['POST', '/aiserver.v1.ChatService/../AiService/StreamChat', STREAMING, 'unrecognized:reject'],
    ['GET', '/', {}, 'unrecognized:pass'],
  ])('%s %s %j → %s', (method, path, headers, expected) => {
    const result = recognizeRequest(req(method, HOST, path, headers), catalog);
    const summary = result === undefined ? 'not-ai'
      : 'unrecognized' in result ? `unrecognized:${result.action}`
        : `${result.adapter.id}:${result.route.operation}:${result.route.stream ? 'stream' : 'unary'}`;
    expect(summary).toBe(expected);
  });
});

describe('cursor adapter: request bodies', () => {
  const chat = cursorChatRequest({ prompts: ['Refactor this function', 'Done.', 'Now add tests'], model: 'claude-3.5-sonnet' });

  it('reads a unary protobuf body into texts with field-number paths', () => {
    const route = recognized('/aiserver.v1.AiService/StreamChat', UNARY);
    const request = expectParsed(parseRequest(route, chat));
    expect(request).toMatchObject({ provider: 'cursor', adapter: 'cursor', operation: 'aiserver.v1.AiService/StreamChat', model: 'claude-3.5-sonnet', stream: false, tools: [], inspected: true });
    expect(request.texts).toEqual(expect.arrayContaining([
      { path: ['1.1[0].1'], text: 'Refactor this function', kind: 'other' },
      { path: ['1.1[2].1'], text: 'Now add tests', kind: 'other' },
      { path: ['1.5.1'], text: 'claude-3.5-sonnet', kind: 'other' },
    ]));
    const body = readRequestBody(route, chat);
    if (!body.ok) throw new Error(body.error.message);
    expectPathsPointAtStrings(body.value, request);
  });

  it('reads a streaming body (one envelope) the same way, and says it streams', () => {
    const request = expectParsed(parseRequest(recognized(CHAT, STREAMING), envelope(0, chat)));
    expect(request).toMatchObject({ stream: true, model: 'claude-3.5-sonnet' });
    expect(request.texts.map((t) => t.path[0])).toContain('1.1[2].1');
  });

  it('decompresses gzip envelopes (Connect-Content-Encoding) and prefixes paths when a body holds several messages', () => {
    const body = concat(envelope(1, zlib.gzipSync(pb.message(1, pb.text(1, 'first message')))), envelope(0, pb.message(1, pb.text(1, 'second message'))));
    const request = expectParsed(parseRequest(recognized(CHAT, { ...STREAMING, 'connect-content-encoding': 'gzip' }), body));
    expect(request.texts.map((t) => [t.path[0], t.text])).toEqual([['[0].1.1', 'first message'], ['[1].1.1', 'second message']]);
  });

  it('reads the hex-encoded request of an HTTP/1.1 BidiAppend call', () => {
    const body = concat(pb.hex(1, pb.message(1, pb.message(1, pb.text(1, 'prompt sent over HTTP/1.1'), pb.varint(2, 1)), pb.message(5, pb.text(1, 'gpt-4o')))), pb.message(2, pb.text(1, 'bidi-request-id')));
    const request = expectParsed(parseRequest(recognized('/aiserver.v1.BidiService/BidiAppend', UNARY), body));
    expect(request.texts.map((t) => [t.path[0], t.text])).toEqual([
      ['1{hex}.1.1.1', 'prompt sent over HTTP/1.1'], ['1{hex}.1.5.1', 'gpt-4o'], ['2.1', 'bidi-request-id'],
    ]);
    expect(request.model).toBe('gpt-4o');
  });

  it.each([
    ['not protobuf', UNARY, Buffer.from('{"json": true}'), 400, 'invalid_request', /is not a protobuf message Bifrost Edge can read: field 15 is a group \(wire type 3\), which Edge does not read at byte 0\. Edge forwards only requests it can inspect\.$/],
    ['a truncated envelope', STREAMING, envelope(0, chat).subarray(0, 20), 400, 'invalid_request', /envelope 1 says \d+ bytes but only 15 remain/],
    ['an end-of-stream envelope', STREAMING, envelope(2, Buffer.from('{}')), 400, 'invalid_request', /marked end-of-stream/],
    ['an unreadable compression', { ...STREAMING, 'connect-content-encoding': 'snappy' }, envelope(1, Buffer.from('zz')), 415, 'unsupported_content_encoding', /compressed with "snappy"/],
  ])('refuses %s with a clear error', (_name, headers, body, status, type, message) => {
    const error = expectFailed(parseRequest(recognized(CHAT, headers), body));
    expect(error).toMatchObject({ status, type, provider: 'cursor' });
    expect(error.message).toMatch(message);
  });
});

describe('cursor adapter: model heuristic', () => {
  it.each([
    ['claude-3.5-sonnet', true], ['gpt-4o', true], ['cursor-small', true], ['gpt-4.1-mini', true], ['o3-mini', true], ['o1', true],
    ['gemini-2.5-pro', true], ['claude-sonnet-4-20250514', true], ['deepseek-r1', true], ['composer-1', true],
    ['claude', false], ['gpt', false], ['auto', false], ['default', false], ['use gpt-4o please', false], ['gpt-4o\n', false], ['o', false], [`gpt-${'4'.repeat(80)}`, false],
  ])('%j looks like a model name: %s', (text, expected) => {
    expect(looksLikeModelName(text)).toBe(expected);
  });

  it.each([
    [['hello', 'gpt-4o', 'uuid'], 'gpt-4o'],
    [['gpt-4o', 'gpt-4o'], 'gpt-4o'],
    [['hello'], null],
    [['claude-3.5-sonnet', 'gpt-4o'], null],
  ])('%j → %s', (texts, model) => {
    expect(modelFromTexts(texts)).toBe(model);
  });

  it('reports null when the request names no model', () => {
    expect(expectParsed(parseRequest(recognized(CHAT, STREAMING), envelope(0, cursorChatRequest({ prompts: ['hi there'] })))).model).toBeNull();
  });
});

describe('cursor adapter: errors in Connect format', () => {
  const guardrailBlock = edgeError(446, 'guardrail_blocked', 'Request blocked by an Edge guardrail: found secret (github-pat) in ["1.1[0].1"]. Remove the sensitive data and try again.');

  it.each([
    [401, 'unauthenticated', 401], [402, 'resource_exhausted', 429], [403, 'permission_denied', 403], [404, 'not_found', 404],
    [413, 'resource_exhausted', 429], [415, 'unimplemented', 501], [429, 'resource_exhausted', 429], [446, 'permission_denied', 403],
    [400, 'invalid_argument', 400], [500, 'unavailable', 503], [502, 'unavailable', 503], [503, 'unavailable', 503],
  ])('unary: Edge %i → %s, HTTP %i, JSON {code, message}', (status, code, httpStatus) => {
    expect(connectCodeFor(status)).toBe(code);
    const response = cursorAdapter.errorResponse(edgeError(status, 'some_type', 'Human message.'), { stream: false, route: recognized(CHAT, UNARY).route });
    expect(response.status).toBe(httpStatus);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(String(response.body))).toEqual({ code, message: 'Human message.' });
  });

  it('streaming: HTTP 200 and one end-of-stream envelope carrying the error, whatever the client accepts', () => {
    const response = cursorAdapter.errorResponse(guardrailBlock, { stream: false, route: recognized(CHAT, STREAMING).route });
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/connect+proto', 'x-bifrost-edge-blocked': 'guardrail_blocked' });
    const body = Buffer.from(response.body);
    expect(body[0]).toBe(0x02);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
    expect(JSON.parse(body.subarray(5).toString('utf8'))).toEqual({ error: { code: 'permission_denied', message: guardrailBlock.message } });
  });

  it('answers in the unary form when no route is known (refused before recognition)', () => {
    const response = errorResponseFor(entry, guardrailBlock, { stream: true });
    expect(response.status).toBe(403);
    expect(JSON.parse(String(response.body))).toMatchObject({ code: 'permission_denied' });
  });

  it('the proxy\'s resolver hands the route to the error builder, so streaming calls get the envelope', () => {
    const resolution = createProviderResolver().resolve(req('POST', HOST, CHAT, STREAMING));
    if (resolution.kind !== 'recognized') throw new Error('not recognised');
    const response = resolution.surface.errorResponse(guardrailBlock, { stream: false });
    expect([response.status, Buffer.from(response.body)[0]]).toEqual([200, 0x02]);
  });
});

describe('cursor adapter with the guardrails', () => {
  function guard(headers: HttpRequestInfo['headers'], body: Uint8Array) {
    const route = recognized(CHAT, headers);
    const read = readRequestBody(route, body);
    if (!read.ok) throw new Error(read.error.message);
    const request = expectParsed(route.adapter.parse(route.route, read.value, route.entry));
    return { read, request, result: applyGuardrails(request.texts, read.value, policy()) };
  }

  it('blocks a planted GitHub token; the message names the path, never the token', () => {
    const { result } = guard(STREAMING, envelope(0, cursorChatRequest({ prompts: [`deploy with ${githubToken}`], model: 'gpt-4o' })));
    expect(result.decision).toBe('block');
    // One conversation message: field 1.1 occurs once, so its path has no index.
    expect(result.findings).toMatchObject([{ type: 'secret', ruleId: 'github-pat', path: ['1.1.1'] }]);
    expect(result.blockError!.message).toContain('1.1.1');
    expect(result.blockError!.message).not.toContain(githubToken);
  });

  it('redacts an email and re-encodes a valid body with fixed lengths (gzip envelope → plain envelope)', () => {
    const message = cursorChatRequest({ prompts: ['first question', `write to ${EMAIL} about it`], model: 'gpt-4o' });
    const { read, request, result } = guard({ ...STREAMING, 'connect-content-encoding': 'gzip' }, envelope(1, zlib.gzipSync(message)));
    expect(result.decision).toBe('redact');
    const out = read.ok ? read.encode(result.redactedBody) : Buffer.alloc(0);
    expect(out[0]).toBe(0x00);
    expect(out.readUInt32BE(1)).toBe(out.length - 5);
    const again = expectParsed(parseRequest(recognized(CHAT, STREAMING), out));
    const before = Object.fromEntries(request.texts.map((t) => [t.path[0], t.text]));
    const after = Object.fromEntries(again.texts.map((t) => [t.path[0], t.text]));
    expect(after).toEqual({ ...before, '1.1[1].1': 'write to [REDACTED:email] about it' });
    // Every level decodes with its own lengths: outer field 1, the second conversation message, its text.
    const conversation = decodeFlat(decodeFlat(out.subarray(5))[0]!.payload!).filter((f) => f.field === 1);
    expect(decodeFlat(conversation[1]!.payload!)[0]!.payload!.toString()).toBe('write to [REDACTED:email] about it');
  });

  it('re-encodes only the changed message of a multi-message stream', () => {
    const clean = envelope(1, zlib.gzipSync(pb.message(1, pb.text(1, 'nothing to see'))));
    const dirty = envelope(0, pb.message(1, pb.text(1, `mail ${EMAIL}`)));
    const { read, result } = guard({ ...STREAMING, 'connect-content-encoding': 'gzip' }, concat(clean, dirty));
    const out = read.ok ? read.encode(result.redactedBody) : Buffer.alloc(0);
    expect(out.subarray(0, clean.length).equals(Buffer.from(clean))).toBe(true);
    expect(decodeFlat(decodeFlat(out.subarray(clean.length + 5))[0]!.payload!)[0]!.payload!.toString()).toBe('mail [REDACTED:email]');
  });

  it('encodes an unchanged value back to the identical body', () => {
    const body = envelope(0, cursorChatRequest({ prompts: ['clean prompt'], model: 'cursor-small' }));
    const { read } = guard(STREAMING, body);
    expect(read.ok && read.encode(read.value).equals(Buffer.from(body))).toBe(true);
  });
});
