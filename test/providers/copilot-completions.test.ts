import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { BLOCKED_SECRET, startEdgeBeforeOrigin, type EdgeBeforeOrigin } from './edge-before-origin.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf } from './support.js';

/**
 * GitHub Copilot's code completions: the editor's file around the cursor goes to the completions proxy
 * (`proxy.{individual,business,enterprise}.githubcopilot.com`, formerly `copilot-proxy.githubusercontent.com`) as
 * `POST /v1/engines/{engine}/completions` with `prompt` (code before the cursor) and `suffix` (after it).
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const COMPLETION_HOSTS = [
  'proxy.individual.githubcopilot.com', 'proxy.business.githubcopilot.com', 'proxy.enterprise.githubcopilot.com', 'copilot-proxy.githubusercontent.com',
];

function summary(method: string, host: string, path: string): string {
  const result = recognizeRequest(req(method, host, path), catalog);
  if (result === undefined) return 'not-ai';
  if ('unrecognized' in result) return `unrecognized:${result.action}`;
  return `${result.adapter.id}:${result.route.operation}:${result.route.inspected ? 'inspected' : 'uninspected'}:${result.route.pathModel ?? '-'}`;
}

function parse(host: string, path: string, body: unknown) {
  const recognized = recognizeRequest(req('POST', host, path), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error(`${host}${path} not recognised`);
  return parseRequest(recognized, JSON.stringify(body));
}

describe('the completions hosts are Copilot', () => {
  it.each(COMPLETION_HOSTS)('%s is decrypted by the built-in list, as the GitHub Copilot surface', (host) => {
    expect(createProviderResolver().isIntercepted(host)).toBe(true);
    expect(catalog.match(host)).toMatchObject({ label: 'GitHub Copilot', provider: 'copilot' });
  });

  it('other hosts under those domains are not', () => {
    for (const host of ['githubusercontent.com', 'raw.githubusercontent.com', 'proxy.githubcopilot.com', 'proxy.a.b.githubcopilot.com']) {
      expect(catalog.match(host), host).toBeUndefined();
    }
  });
});

describe('routes', () => {
  it.each([
    ['POST', 'proxy.individual.githubcopilot.com', '/v1/engines/gpt-41-copilot/completions', 'copilot-completions:engines.completions:inspected:gpt-41-copilot'],
    ['POST', 'proxy.business.githubcopilot.com', '/v1/engines/copilot-codex/completions', 'copilot-completions:engines.completions:inspected:copilot-codex'],
    ['POST', 'copilot-proxy.githubusercontent.com', '/v1/engines/copilot-codex/completions', 'copilot-completions:engines.completions:inspected:copilot-codex'],
    ['POST', 'proxy.enterprise.githubcopilot.com', '/v1/engines/copilot-centralus-h100/speculation', 'copilot-completions:engines.speculation:inspected:copilot-centralus-h100'],
    ['POST', 'api.githubcopilot.com', '/v1/engines/copilot-codex/completions', 'copilot-completions:engines.completions:inspected:copilot-codex'],
    // The chat routes the same hosts answer are read as on api.githubcopilot.com.
    ['POST', 'proxy.individual.githubcopilot.com', '/chat/completions', 'openai-compatible:chat.completions:inspected:-'],
    ['POST', 'proxy.individual.githubcopilot.com', '/v1/messages', 'anthropic:messages:inspected:-'],
    // What else Copilot's private API serves passes, as on api.githubcopilot.com.
    ['GET', 'proxy.individual.githubcopilot.com', '/_ping', 'unrecognized:pass'],
    ['GET', 'proxy.individual.githubcopilot.com', '/v1/engines', 'unrecognized:pass'],
    ['POST', 'proxy.individual.githubcopilot.com', '/v1/engines/copilot-codex/completions/extra', 'unrecognized:pass'],
    ['POST', 'proxy.individual.githubcopilot.com', '/v1/engines//completions', 'unrecognized:reject'],
  ])('%s %s%s → %s', (method, host, path, expected) => {
    expect(summary(method, host, path)).toBe(expected);
  });
});

describe('reading a completion request', () => {
  it('reads prompt, suffix and the context snippets, with the engine as the model and the stream flag', () => {
    const body = {
      prompt: '# Path: deploy.py\nTOKEN = "',
      suffix: '"\n\ndef main():\n    pass\n',
      max_tokens: 500,
      temperature: 0,
      n: 1,
      stop: ['\n'],
      nwo: 'acme/infra',
      stream: true,
      extra: { language: 'python', next_indent: 0, trim_by_indentation: true, prompt_tokens: 18, suffix_tokens: 9, context: ['// from util.py\nAPI_URL = "x"'] },
      context: ['// from settings.py\nDEBUG = True'],
    };
    const request = expectParsed(parse('proxy.individual.githubcopilot.com', '/v1/engines/gpt-41-copilot/completions', body));
    expect(request).toMatchObject({ provider: 'copilot', adapter: 'copilot-completions', operation: 'engines.completions', model: 'gpt-41-copilot', stream: true, inspected: true });
    expect(textsOf(request)).toEqual([
      ['user', '# Path: deploy.py\nTOKEN = "'],
      ['user', '"\n\ndef main():\n    pass\n'],
      ['user', '// from settings.py\nDEBUG = True'],
      ['user', '// from util.py\nAPI_URL = "x"'],
    ]);
    expectPathsPointAtStrings(body, request);
  });

  it('reads a speculation request\'s prompt and speculated text', () => {
    const body = { prompt: 'rewrite this', speculation: 'const x = 1;', stream: true, temperature: 0, stops: [] };
    const request = expectParsed(parse('proxy.enterprise.githubcopilot.com', '/v1/engines/copilot-centralus-h100/speculation', body));
    expect(textsOf(request)).toEqual([['user', 'rewrite this'], ['user', 'const x = 1;']]);
  });

  it.each([
    [{ prompt: 42 }, 'prompt'],
    [{ prompt: 'x', suffix: ['y'] }, 'suffix'],
    [{ prompt: 'x', stream: 'yes' }, 'stream'],
  ])('refuses %j, naming %s', (body, where) => {
    const error = expectFailed(parse('proxy.individual.githubcopilot.com', '/v1/engines/copilot-codex/completions', body));
    expect(error.status).toBe(400);
    expect(error.message).toContain(where);
  });
});

describe('through Edge: a secret in the editor\'s file is refused before it reaches Copilot', () => {
  let edge: EdgeBeforeOrigin;
  beforeAll(async () => { edge = await startEdgeBeforeOrigin(COMPLETION_HOSTS); }, 30_000);
  afterAll(async () => { await edge?.close(); });

  it.each(COMPLETION_HOSTS)('%s: in the prompt and in the suffix', async (host) => {
    const url = `https://${host}/v1/engines/copilot-codex/completions`;
    const inPrompt = { prompt: `GITHUB_TOKEN = "${BLOCKED_SECRET}"\n`, suffix: '', stream: true, extra: { language: 'python' } };
    const inSuffix = { prompt: 'def main():\n', suffix: `\nGITHUB_TOKEN = "${BLOCKED_SECRET}"\n`, stream: true };
    expect(await edge.post(url, inPrompt, BLOCKED_SECRET)).toEqual({ status: 446, reachedOrigin: false, secretAtOrigin: false });
    expect(await edge.post(url, inSuffix, BLOCKED_SECRET)).toEqual({ status: 446, reachedOrigin: false, secretAtOrigin: false });
  });

  it.each(['/V1/engines/copilot-codex/completions', '/v1/Engines/copilot-codex/completions', '/v1/engines/copilot-codex;x/completions'])(
    '%s: a look-alike spelling carrying the secret is refused (400) and never reaches Copilot', async (path) => {
      const body = { prompt: `GITHUB_TOKEN = "${BLOCKED_SECRET}"\n`, suffix: '' };
      expect(await edge.post(`https://proxy.individual.githubcopilot.com${path}`, body, BLOCKED_SECRET)).toEqual({ status: 400, reachedOrigin: false, secretAtOrigin: false });
    });

  it('a clean completion still reaches Copilot', async () => {
    const result = await edge.post('https://proxy.individual.githubcopilot.com/v1/engines/copilot-codex/completions', { prompt: 'def add(a, b):\n', suffix: '' }, BLOCKED_SECRET);
    expect(result).toEqual({ status: 200, reachedOrigin: true, secretAtOrigin: false });
  });
});
