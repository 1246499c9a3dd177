import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../../src/providers/catalog.js';
import { compileHostPattern, normalizeHost } from '../../src/providers/host-pattern.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

describe('default surface catalog', () => {
  it.each([
    ['api.openai.com', 'openai', 'openai-compatible'],
    ['API.OpenAI.COM', 'openai', 'openai-compatible'],
    ['api.openai.com:443', 'openai', 'openai-compatible'],
    ['api.openai.com.', 'openai', 'openai-compatible'],
    ['api.openai.com.:443', 'openai', 'openai-compatible'],
    ['chatgpt.com', 'chatgpt-web', 'chatgpt-web'],
    ['api.anthropic.com', 'anthropic', 'anthropic'],
    ['claude.ai', 'claude-web', 'claude-web'],
    ['generativelanguage.googleapis.com', 'gemini', 'gemini'],
    ['api.groq.com', 'groq', 'openai-compatible'],
    ['api.mistral.ai', 'mistral', 'openai-compatible'],
    ['api.x.ai', 'xai', 'openai-compatible'],
    ['api.deepseek.com', 'deepseek', 'openai-compatible'],
    ['openrouter.ai', 'openrouter', 'openai-compatible'],
    ['api.perplexity.ai', 'perplexity', 'openai-compatible'],
    ['api.githubcopilot.com', 'copilot', 'openai-compatible'],
    ['api.individual.githubcopilot.com', 'copilot', 'openai-compatible'],
    ['API.Business.GithubCopilot.com:443', 'copilot', 'openai-compatible'],
    ['api2.cursor.sh', 'cursor', 'cursor'],
  ])('%s → %s via %s', (host, provider, adapter) => {
    const entry = catalog.match(host);
    expect(entry?.provider).toBe(provider);
    expect(entry?.adapter).toBe(adapter);
  });

  it.each([
    'openai.com', 'www.openai.com', 'evilapi.openai.com', 'api.openai.com.evil.example', 'githubcopilot.com',
    'api.a.b.githubcopilot.com', 'copilot.githubcopilot.com', 'cursor.sh', 'googleapis.com', 'example.com', '',
  ])('%s is not an AI surface', (host) => {
    expect(catalog.match(host)).toBeUndefined();
  });

  it('lists every host pattern for the CONNECT router, in catalog order', () => {
    expect(catalog.hosts()).toEqual([
      'api.openai.com', 'chatgpt.com', 'api.anthropic.com', 'claude.ai', 'generativelanguage.googleapis.com', 'api.groq.com',
      'api.mistral.ai', 'api.x.ai', 'api.deepseek.com', 'openrouter.ai', 'api.perplexity.ai', 'api.githubcopilot.com',
      'api.*.githubcopilot.com', 'proxy.*.githubcopilot.com', 'copilot-proxy.githubusercontent.com', '*.openai.azure.com',
      '*.cognitiveservices.azure.com', '*.services.ai.azure.com', 'api2.cursor.sh',
    ]);
  });

  it.each([
    ['chatgpt.com', 'pass'], ['claude.ai', 'pass'], ['api2.cursor.sh', 'pass'],
    ['api.openai.com', 'reject'], ['api.anthropic.com', 'reject'], ['generativelanguage.googleapis.com', 'reject'], ['api.groq.com', 'reject'],
  ])('%s: unknown routes %s', (host, policy) => {
    expect(catalog.match(host)?.unknownRoutes).toBe(policy);
  });

  it.each([
    ['api.openai.com', ['/v1']], ['api.groq.com', ['/openai/v1']], ['openrouter.ai', ['/api/v1']], ['api.githubcopilot.com', ['', '/v1']],
  ])('%s serves its API under %j', (host, prefixes) => {
    expect(catalog.match(host)?.pathPrefixes).toEqual(prefixes);
  });
});

function entry(label: string, hosts: string[]): SurfaceEntry {
  return { label, hosts, provider: 'openai', adapter: 'openai-compatible', pathPrefixes: ['/v1'], unknownRoutes: 'reject' };
}

describe('wildcard patterns and precedence', () => {
  const wild = compileSurfaceCatalog([
    entry('any depth', ['*.githubcopilot.com']),
    entry('one label', ['api.*.githubcopilot.com']),
    entry('exact', ['api.githubcopilot.com']),
  ]);

  it.each([
    ['api.githubcopilot.com', 'exact'],
    ['api.business.githubcopilot.com', 'one label'],
    ['API.Business.githubcopilot.com.', 'one label'],
    ['proxy.githubcopilot.com', 'any depth'],
    ['a.b.c.githubcopilot.com', 'any depth'],
    ['api.a.b.githubcopilot.com', 'any depth'],
    ['githubcopilot.com', undefined],
    ['xgithubcopilot.com', undefined],
  ])('%s → %s', (host, label) => {
    expect(wild.match(host)?.label).toBe(label);
  });

  it('prefers more fixed labels, then catalog order', () => {
    const narrower = compileSurfaceCatalog([entry('broad', ['*.example.com']), entry('narrow', ['x.*.example.com'])]);
    expect(narrower.match('x.y.example.com')?.label).toBe('narrow');
    const tie = compileSurfaceCatalog([entry('first', ['a.*.example.com']), entry('second', ['*.b.example.com'])]);
    expect(tie.match('a.b.example.com')?.label).toBe('first');
  });
});

describe('invalid catalogs fail loudly', () => {
  it.each([
    ['*.com', /two fixed labels/],
    ['*', /top-level domain/],
    ['api.*', /top-level domain/],
    ['api-*.example.com', /whole label/],
    ['exa mple.com', /not a valid DNS label/],
    ['', /empty/],
    // A URL would be cut at its ':' to "https", a pattern that matches nothing: that provider would go undecrypted.
    ['https://api.openai.com', /host name alone/],
    ['api.openai.com:443', /host name alone/],
    ['api.openai.com/v1', /host name alone/],
  ])('pattern %j is refused', (pattern, message) => {
    expect(() => compileHostPattern(pattern)).toThrow(message);
  });

  it('refuses a host listed twice, naming both entries', () => {
    expect(() => compileSurfaceCatalog([entry('A', ['api.openai.com']), entry('B', ['API.openai.com.'])])).toThrow(/listed twice \(A and B\)/);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['API.OpenAI.com', 'api.openai.com'],
    ['api.openai.com:8443', 'api.openai.com'],
    ['api.openai.com.', 'api.openai.com'],
    ['[::1]:8443', '::1'],
    ['::1', '::1'],
    ['  claude.ai ', 'claude.ai'],
  ])('%j → %j', (host, normalized) => {
    expect(normalizeHost(host)).toBe(normalized);
  });
});
