import { afterEach, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { guardrailInspector } from '../../src/proxy/inspectors/guardrails.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { message, meteringAgent, responsesTurn, type MeteringAgent } from '../proxy/websocket-metering-agent.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req } from './support.js';

/**
 * A response's labels (`metadata`, and `client_metadata`, which Codex sends on the Responses WebSocket) are stored
 * with it at the provider: their values are text sent there, read for the guardrails (their keys are not). An input
 * item without `type` that names only an `id` is a reference to a stored item (the API's ItemReferenceParam has an
 * optional type): accepted, with nothing to read.
 */

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
/** A token the default guardrails block (split: no scanner flags this file). */
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function parse(body: unknown): ParseResult {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/responses', { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(JSON.stringify(body)));
}

const readEvent = (event: unknown) => readClientMessage('openai-responses', message(event), false, 1024 * 1024);
const textsOfEvent = (event: unknown) => {
  const read = readEvent(event);
  if (read.kind !== 'json') throw new Error(`not read: ${JSON.stringify(read)}`);
  return read.texts.map((t) => [t.path.join('.'), t.text]);
};

const USER_INPUT = [{ role: 'user', content: 'hello' }];

it('the values of an HTTP response\'s metadata are read, each path pointing at its string; its keys are not', () => {
  const body = { model: 'gpt-5', input: USER_INPUT, metadata: { ticket: 'T-1', [SECRET]: `note ${SECRET}` } };
  const request = expectParsed(parse(body));
  expect(request.texts.map((t) => [t.path.join('.'), t.text])).toEqual([
    ['input.0.content', 'hello'], ['metadata.ticket', 'T-1'], [`metadata.${SECRET}`, `note ${SECRET}`],
  ]);
  expectPathsPointAtStrings(body, request);
});

it.each([
  ['response.create', { type: 'response.create', model: 'gpt-5', input: USER_INPUT, client_metadata: { 'x-codex-turn-metadata': SECRET } }, 'client_metadata.x-codex-turn-metadata'],
  ['response.append', { type: 'response.append', input: USER_INPUT, client_metadata: { session_id: SECRET } }, 'client_metadata.session_id'],
])('the values of a WebSocket %s\'s client_metadata are read', (_name, event, path) => {
  expect(textsOfEvent(event)).toContainEqual([path, SECRET]);
});

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

it('a secret in a WebSocket turn\'s client_metadata is refused by the guardrails, the socket left open', async () => {
  const guardrails = compileGuardrailPolicy({});
  if (!guardrails.ok) throw new Error(guardrails.errors.join('\n'));
  agent = meteringAgent({}, { deps: { contentInspectors: () => [guardrailInspector(() => guardrails.policy)] } });
  const socket = await agent.open('api.openai.com', '/v1/responses');
  expect(await agent.send(socket, message({ type: 'response.create', model: 'gpt-5', input: USER_INPUT, client_metadata: { note: `token ${GITHUB_TOKEN}` } }))).toBe('reply');
  expect(agent.records.at(-1)).toMatchObject({
    decision: 'blocked', model: 'gpt-5', errorType: 'guardrail_blocked', findings: [{ type: 'secret', location: 'client_metadata.note' }],
  });
  expect(await agent.send(socket, responsesTurn('gpt-5'))).toBe('forward');
});

it.each([
  ['without type', { id: 'msg_123' }],
  ['with type null', { id: 'msg_123', type: null }],
])('an item reference %s is accepted, over HTTP and the WebSocket, with nothing to read', (_name, reference) => {
  const request = expectParsed(parse({ model: 'gpt-5', input: [reference, ...USER_INPUT] }));
  expect(request.texts.map((t) => t.text)).toEqual(['hello']);
  expect(textsOfEvent({ type: 'response.create', model: 'gpt-5', input: [reference, ...USER_INPUT] })).toEqual([['input.1.content', 'hello']]);
});

it('an untyped item with neither a role nor an id is still refused for its missing role', () => {
  expect(expectFailed(parse({ model: 'gpt-5', input: [{ content: 'hello' }] })).message).toMatch(/input\[0\]\.role is required/);
});
