import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req } from './support.js';

/**
 * A Realtime session's transcription `keywords` (words and phrases to guide the transcription model) reach the
 * model as sent, like the transcription `prompt`: they are read wherever a session is configured, over HTTP and
 * over the WebSocket, and a key a case-insensitive reader takes for `keywords` is refused.
 */

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function parse(path: string, body: unknown): ParseResult {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', path, { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(JSON.stringify(body)));
}

const GA_SESSION = { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe', prompt: 'Expect: ACME', keywords: ['Zyx Corp', SECRET] } } } };
const BETA_SESSION = { input_audio_transcription: { model: 'gpt-4o-transcribe', keywords: ['Zyx Corp', SECRET] } };

describe('transcription keywords', () => {
  it.each([
    ['a GA client secret', '/v1/realtime/client_secrets', { session: GA_SESSION },
      [['session.audio.input.transcription.prompt', 'Expect: ACME'], ['session.audio.input.transcription.keywords.0', 'Zyx Corp'], ['session.audio.input.transcription.keywords.1', SECRET]]],
    ['a beta transcription session', '/v1/realtime/transcription_sessions', BETA_SESSION,
      [['input_audio_transcription.keywords.0', 'Zyx Corp'], ['input_audio_transcription.keywords.1', SECRET]]],
  ])('are read in %s, each path pointing at its string', (_name, path, body, expected) => {
    const request = expectParsed(parse(path, body));
    expect(request.texts.map((t) => [t.path.join('.'), t.text])).toEqual(expected);
    expect(request.texts.every((t) => t.kind === 'system')).toBe(true);
    expectPathsPointAtStrings(body, request);
  });

  it.each([
    ['GA session.update', { type: 'session.update', session: GA_SESSION }],
    ['beta transcription_session.update', { type: 'transcription_session.update', session: BETA_SESSION }],
  ])('are read in a WebSocket %s', (_name, event) => {
    const read = readClientMessage('openai-realtime', Buffer.from(JSON.stringify(event)), false, 1024 * 1024);
    expect(read.kind === 'json' && read.texts.map((t) => t.text)).toContain(SECRET);
  });

  it('a list that is not of strings is refused, naming the field', () => {
    const error = expectFailed(parse('/v1/realtime/transcription_sessions', { input_audio_transcription: { keywords: [SECRET, 5] } }));
    expect(error.message).toMatch(/input_audio_transcription\.keywords\[1\] must be a string/);
  });

  it('a key a case-insensitive reader takes for keywords is refused, alone or next to keywords', () => {
    const error = expectFailed(parse('/v1/realtime/transcription_sessions', { input_audio_transcription: { keywords: ['hi'], Keywords: [SECRET] } }));
    expect(error.message).toMatch(/both "keywords" and "Keywords"/);
    expect(error.message).not.toContain(SECRET);
    expect(expectFailed(parse('/v1/realtime/transcription_sessions', { input_audio_transcription: { KEYWORDS: [SECRET] } })).message).toMatch(/the key "KEYWORDS"/);
  });
});
