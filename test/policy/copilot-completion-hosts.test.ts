import { describe, expect, it } from 'vitest';
import { attributeApp, compileAppCatalog } from '../../src/policy/apps.js';
import { isKnownAiHost } from '../../src/policy/shadow-ai.js';

/** Copilot's code completions go to their own hosts: they are Copilot for shadow AI and the app catalog alike. */

const COMPLETION_HOSTS = [
  'proxy.individual.githubcopilot.com', 'proxy.business.githubcopilot.com', 'proxy.enterprise.githubcopilot.com', 'copilot-proxy.githubusercontent.com',
];

describe.each(COMPLETION_HOSTS)('%s', (host) => {
  it('is a known AI host, so tunnelling it (an intercept list without it) is recorded as shadow AI', () => {
    expect(isKnownAiHost(host)).toBe(true);
  });

  it('is attributed to GitHub Copilot by its host, whatever the User-Agent', () => {
    expect(attributeApp({ host }, compileAppCatalog([]))).toMatchObject({ id: 'github-copilot', listed: false });
    expect(attributeApp({ host, userAgent: 'node-fetch' }, compileAppCatalog([]))).toMatchObject({ id: 'github-copilot' });
  });
});

it('githubusercontent.com itself and its other hosts are not Copilot', () => {
  for (const host of ['githubusercontent.com', 'raw.githubusercontent.com', 'objects.githubusercontent.com']) {
    expect(isKnownAiHost(host), host).toBe(false);
    expect(attributeApp({ host }, compileAppCatalog([])).id, host).not.toBe('github-copilot');
  }
});
