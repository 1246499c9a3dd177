import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { copilotCompletionsAdapter } from '../../src/providers/copilot-completions.js';
import { isRefused } from '../../src/providers/route-lookalike.js';
import { req } from './support.js';

/**
 * Copilot's hosts pass the routes Edge does not know, so a spelling of a completion route that Copilot's service may
 * answer as one, but Edge's exact match did not, went out unread. Every such spelling is refused in Copilot's error
 * shape: look-alikes (letter case, `;` parameters, trailing blanks or dots, dot segments in disguise), a method with a
 * body other than POST, and an engine name a lenient service may read as another model.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const HOST = 'proxy.individual.githubcopilot.com';

/** `refused:{status}:{type}` for a refusal, else what recognizeRequest made of it. */
function outcome(method: string, path: string): string {
  const result = recognizeRequest(req(method, HOST, path), catalog);
  if (result === undefined) return 'not-ai';
  if ('unrecognized' in result) return `unrecognized:${result.action}`;
  if (isRefused(result.route)) return `refused:${result.route.refusal.status}:${result.route.refusal.type}:${result.adapter.id}`;
  return `${result.adapter.id}:${result.route.operation}:${result.route.inspected ? 'inspected' : 'uninspected'}:${result.route.pathModel ?? '-'}`;
}

describe('Copilot completions: spellings the service may answer as a completion', () => {
  it.each([
    '/v1/Engines/copilot-codex/completions',
    '/v1/engines/copilot-codex/Completions',
    '/v1/engines/copilot-codex/completions;x=1',
    '/v1/engines/copilot-codex/completions%20',
    '/v1/engines/copilot-codex/completions.',
    '/v1/engines/copilot-codex/SPECULATION',
    '/V1/engines/copilot-codex/completions',
  ])('POST %s is refused as a look-alike (400)', (path) => {
    expect(outcome('POST', path)).toBe('refused:400:invalid_request:copilot-completions');
  });

  it('POST with a dot segment in disguise is refused (400)', () => {
    expect(outcome('POST', '/v1/engines/copilot-codex/..;/copilot-codex/completions')).toMatch(/^refused:400:invalid_request:/);
  });

  it.each(['PUT', 'PATCH'])('%s on a completion route is refused (405)', (method) => {
    expect(outcome(method, '/v1/engines/copilot-codex/completions')).toBe('refused:405:method_not_allowed:copilot-completions');
    expect(outcome(method, '/v1/engines/copilot-codex/speculation')).toBe('refused:405:method_not_allowed:copilot-completions');
  });

  it.each([
    '/v1/engines/copilot-codex;x/completions',
    '/v1/engines/copilot-codex%3Bx/completions',
    '/v1/engines/copilot-codex%20/completions',
    '/v1/engines/copilot-codex./completions',
    '/v1/engines/copilot-codex%0A/completions',
    '/v1/engines/copilot-c%C3%B6dex/completions',
  ])('POST %s, whose engine a lenient service may read as another model, is refused (400)', (path) => {
    const result = recognizeRequest(req('POST', HOST, path), catalog);
    const refusal = result !== undefined && !('unrecognized' in result) && isRefused(result.route) ? result.route.refusal : undefined;
    expect(refusal).toMatchObject({ status: 400, type: 'invalid_request', provider: 'copilot' });
  });

  it('the exact routes are read as before, whatever the engine\'s letter case; bodyless methods and other routes pass', () => {
    expect(outcome('POST', '/v1/engines/copilot-codex/completions')).toBe('copilot-completions:engines.completions:inspected:copilot-codex');
    expect(outcome('POST', '/v1/engines/Copilot-Codex/completions')).toBe('copilot-completions:engines.completions:inspected:Copilot-Codex');
    expect(outcome('POST', '/v1/engines/gpt-4o-copilot/speculation?x=1')).toBe('copilot-completions:engines.speculation:inspected:gpt-4o-copilot');
    expect(outcome('GET', '/v1/engines/copilot-codex/completions')).toBe('unrecognized:pass');
    expect(outcome('DELETE', '/v1/engines/copilot-codex/completions')).toBe('unrecognized:pass');
    expect(outcome('POST', '/v1/engines/copilot-codex/completions/extra')).toBe('unrecognized:pass');
    expect(outcome('POST', '/v1/engines/copilot-codex/embeddings')).toBe('unrecognized:pass');
  });
});

describe('Copilot completions: a refused spelling is refused when parsed, not only when recognised', () => {
  it.each([
    '/V1/engines/copilot-codex/completions',
    '/v1/Engines/copilot-codex/completions',
    '/v1/engines/copilot-codex/Completions',
    '/v1/engines/copilot-codex;x/completions',
  ])('POST %s: parseRequest answers the refusal (the request never goes out unread)', (path) => {
    const found = recognizeRequest(req('POST', HOST, path), catalog);
    if (found === undefined || 'unrecognized' in found) throw new Error(`${path} was not recognised`);
    const parsed = parseRequest(found, JSON.stringify({ prompt: 'def f():', suffix: '', max_tokens: 10 }));
    expect(parsed).toMatchObject({ ok: false, error: { status: 400, type: 'invalid_request' } });
  });
});

describe('Copilot completions on its own: a bodied path a lenient service reads another way is refused by the adapter itself', () => {
  // Through the registry the OpenAI-compatible adapter on the same host refuses these first; the completions adapter
  // must not depend on it (a catalog entry may give it a host of its own).
  const entry = catalog.match(HOST)!;
  it.each([
    '/v1/engines/copilot-codex/completions%3Fx',
    '/v1/engines/copilot-codex/completions%C0%AE',
    '/v1/engines/%C0%AE%C0%AE/copilot-codex/completions',
  ])('POST %s', (path) => {
    const route = copilotCompletionsAdapter.recognize(req('POST', HOST, path), entry);
    expect(route !== undefined && isRefused(route) ? route.refusal.status : 'not refused').toBe(400);
  });
});
