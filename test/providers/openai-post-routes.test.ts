import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../../src/providers/catalog.js';
import { openAICompatibleAdapter as adapter } from '../../src/providers/openai-compatible.js';
import { expectParsed, expectPathsPointAtStrings, req } from './support.js';

/** Which OpenAI-shaped POSTs are read, which pass unread, and which are unknown (refused on API hosts). */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const surface = (host: string): SurfaceEntry => catalog.match(host)!;

function recognize(method: string, host: string, path: string, headers: Record<string, string> = {}) {
  return adapter.recognize(req(method, host, path, headers), surface(host));
}

function parse(method: string, host: string, path: string, body: unknown) {
  const entry = surface(host);
  const route = adapter.recognize(req(method, host, path), entry);
  if (!route) throw new Error(`${method} ${path} not recognised on ${host}`);
  return adapter.parse(route, body, entry);
}

describe('the Responses API', () => {
  it.each([
    ['POST', '/v1/responses/compact', 'responses.compact', true],
    ['POST', '/v1/responses/resp_1/cancel', 'responses', false],
    ['GET', '/v1/responses/resp_1', 'responses', false],
    ['DELETE', '/v1/responses/resp_1', 'responses', false],
    ['GET', '/v1/responses/resp_1/input_items', 'responses', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.openai.com', path)).toMatchObject({ operation, inspected });
  });

  it.each([
    '/v1/responses/resp_1',
    '/v1/responses/resp_1/summarize',
    '/v1/responses/compact/extra',
  ])('POST %s is no documented route, so the host\'s unknown-route rule decides it', (path) => {
    expect(recognize('POST', 'api.openai.com', path)).toBeUndefined();
  });

  it('reads compaction like a response: instructions and input items, each path pointing at its string', () => {
    const body = { model: 'gpt-5-codex', instructions: 'You are Codex.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] }] };
    const request = expectParsed(parse('POST', 'api.openai.com', '/v1/responses/compact', body));
    expect(request).toMatchObject({ operation: 'responses.compact', model: 'gpt-5-codex', inspected: true });
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([['system', 'You are Codex.'], ['user', 'fix the build']]);
    expectPathsPointAtStrings(body, request);
  });
});
