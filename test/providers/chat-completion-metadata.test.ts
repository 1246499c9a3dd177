import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { BLOCKED_SECRET, startEdgeBeforeOrigin, type EdgeBeforeOrigin } from './edge-before-origin.js';
import { expectParsed, expectPathsPointAtStrings, req } from './support.js';

/**
 * A stored Chat Completion (`store: true`) keeps its `metadata` at the provider, listed and filtered on its
 * dashboard: the metadata's string values are text sent there, read for the guardrails as a Responses request's are
 * (f1933c5); its keys name the labels and are not read.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function parse(body: unknown): ParseResult {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/chat/completions', { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(JSON.stringify(body)));
}

const MESSAGES = [{ role: 'user', content: 'hello' }];

it('the string values of a Chat Completion\'s metadata are read, each path pointing at its string; its keys and other values are not', () => {
  const body = { model: 'gpt-4o', store: true, messages: MESSAGES, metadata: { ticket: 'T-1', [BLOCKED_SECRET]: 'label', note: 'see the runbook', count: 3 } };
  const request = expectParsed(parse(body));
  expect(request.texts.map((t) => [t.path.join('.'), t.kind, t.text])).toEqual([
    ['messages.0.content', 'user', 'hello'], ['metadata.ticket', 'other', 'T-1'], [`metadata.${BLOCKED_SECRET}`, 'other', 'label'], ['metadata.note', 'other', 'see the runbook'],
  ]);
  expectPathsPointAtStrings(body, request);
});

let edge: EdgeBeforeOrigin;
beforeAll(async () => { edge = await startEdgeBeforeOrigin(['api.openai.com']); });
afterAll(async () => { await edge?.close(); });

it('a secret in a stored Chat Completion\'s metadata is blocked through Edge and never reaches the provider', async () => {
  const res = await edge.post('https://api.openai.com/v1/chat/completions', { model: 'gpt-4o', store: true, messages: MESSAGES, metadata: { deploy: `token ${BLOCKED_SECRET}` } }, BLOCKED_SECRET);
  expect(res).toEqual({ status: 446, reachedOrigin: false, secretAtOrigin: false });
});
