import { expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { findFoldedKey } from '../../src/providers/json-key-folding.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { expectFailed, req } from './support.js';

/**
 * A response's labels (`metadata`, Codex's `client_metadata`) have their values read by the guardrails. The gateway
 * matches keys regardless of letter case, so a `Metadata` is its `metadata`: unread by Edge, it would carry a secret
 * past the guardrails. Such a key is refused as any other misspelling of a field Edge reads; the maps' own keys stay
 * free-form.
 */

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function parseResponses(body: unknown) {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/responses', { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(JSON.stringify(body)));
}

it.each([
  ['Metadata', 'metadata'],
  ['METADATA', 'metadata'],
  ['Client_Metadata', 'client_metadata'],
])('a lone %s is a misspelling of %s', (key, field) => {
  expect(findFoldedKey({ model: 'gpt-5', input: 'hi', [key]: { note: SECRET } })).toEqual({ kind: 'misspelled', path: [], key, field });
});

it('an HTTP Responses request with "Metadata" is refused, not sent with its value unread', () => {
  const error = expectFailed(parseResponses({ model: 'gpt-5', input: 'hi', Metadata: { note: `x ${SECRET}` } }));
  expect(error.message).toContain('"Metadata"');
});

it('a WebSocket response.create with "Metadata" is refused', () => {
  const read = readClientMessage('openai-responses', Buffer.from(JSON.stringify({ type: 'response.create', model: 'gpt-5', input: 'hi', Metadata: { note: SECRET } })), false, 1 << 20);
  expect(read).toMatchObject({ kind: 'unreadable', message: expect.stringContaining('"Metadata"') });
});

it('the keys inside a metadata map are the user\'s: never taken for fields', () => {
  expect(findFoldedKey({ model: 'gpt-5', input: 'hi', metadata: { Model: 'x', Content: 'y' }, client_metadata: { Input: 'z' } })).toBeUndefined();
});
