import { describe, expect, it } from 'vitest';
import type { AppCatalogEntry } from '../../src/control/protocol/policy-bundle.js';
import { attributeApp, compileAppCatalog, decideApp, type AppSignals } from '../../src/policy/apps.js';
import { isKnownAiHost } from '../../src/policy/shadow-ai.js';
import { bundle } from './support.js';

const UA = {
  chrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  claudeDesktop: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Claude/0.12.28 Chrome/132.0.6834.210 Electron/34.3.0 Safari/537.36',
  chatgptDesktop: 'ChatGPT/1.2025.140 (Mac OS X 14.5; arm64; build 1747444386)',
  cursor: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Cursor/1.2.4 Chrome/132.0.6834.210 Electron/34.5.8 Safari/537.36',
  claudeCode: 'claude-cli/1.0.51 (external, cli)',
  codex: 'codex_cli_rs/0.2.0 (Mac OS 14.5.0; arm64) iTerm.app/3.5.0',
  copilot: 'GitHubCopilotChat/0.29.1',
  openaiSdk: 'OpenAI/JS 6.1.0',
};

describe('built-in recognisers', () => {
  it.each([
    [{ host: 'chatgpt.com', userAgent: UA.chatgptDesktop }, 'chatgpt-desktop', false],
    [{ host: 'claude.ai', userAgent: UA.claudeDesktop }, 'claude-desktop', false],
    [{ host: 'api2.cursor.sh', userAgent: UA.cursor }, 'cursor', false],
    [{ host: 'api2.cursor.sh' }, 'cursor', false],
    [{ host: 'api.anthropic.com', userAgent: UA.claudeCode }, 'claude-code', false],
    [{ host: 'api.openai.com', userAgent: UA.codex }, 'codex-cli', false],
    [{ host: 'chatgpt.com', path: '/backend-api/codex/responses', userAgent: 'reqwest' }, 'codex-cli', false],
    [{ host: 'chatgpt.com', path: '/backend-api/conversation', userAgent: 'reqwest' }, 'ua:reqwest', false],
    [{ host: 'api.business.githubcopilot.com', userAgent: UA.copilot }, 'github-copilot', false],
    [{ host: 'api.individual.githubcopilot.com' }, 'github-copilot', false],
    [{ host: 'api.openai.com', userAgent: UA.openaiSdk }, 'openai-sdk', false],
    [{ host: 'chatgpt.com', userAgent: UA.chrome }, 'chrome', true],
    [{ host: 'chatgpt.com', userAgent: UA.edge }, 'edge-browser', true],
    [{ host: 'claude.ai', userAgent: UA.firefox }, 'firefox', true],
    [{ host: 'claude.ai', userAgent: UA.safari }, 'safari', true],
    [{ host: 'api.openai.com', process: '/Applications/ChatGPT.app/Contents/MacOS/ChatGPT' }, 'chatgpt-desktop', false],
    [{ host: 'api.openai.com', userAgent: 'weird-tool/0.1 (linux)' }, 'ua:weird-tool', false],
    [{ host: 'api.openai.com' }, 'unknown', false],
  ] as Array<[AppSignals, string, boolean]>)('%o → %s', (signals, id, browser) => {
    const app = attributeApp(signals, compileAppCatalog([]));
    expect(app).toMatchObject({ id, browser, listed: false, status: 'pending' });
  });
});

const entry = (id: string, status: AppCatalogEntry['status'], match: Partial<AppCatalogEntry['match']>, extra: Partial<AppCatalogEntry> = {}): AppCatalogEntry => ({
  id, name: id, status, match: { hosts: [], user_agents: [], processes: [], ...match }, ...extra,
});

describe('catalog attribution', () => {
  const catalog = compileAppCatalog([
    entry('chatgpt-web', 'denied', { hosts: ['chatgpt.com'] }),
    entry('chatgpt-app', 'approved', { user_agents: ['^ChatGPT/'] }),
    entry('browsers', 'approved', { user_agents: ['Chrome/', 'Firefox/'] }),
    entry('cursor', 'approved', {}),
    entry('copilot-any', 'approved', { hosts: ['*.githubcopilot.com'] }),
    entry('copilot-business', 'denied', { hosts: ['api.business.githubcopilot.com'] }),
    entry('vscode', 'pending', { processes: ['Code.exe'] }),
    entry('internal-bot', 'approved', { user_agents: ['internal-bot'] }, { routing: 'passthrough' }),
  ]);

  it.each([
    ['the desktop app by User-Agent beats the web host', { host: 'chatgpt.com', userAgent: UA.chatgptDesktop }, 'chatgpt-app', 'approved', 'user_agent'],
    ['a browser on the web host: the host wins over the browser', { host: 'chatgpt.com', userAgent: UA.chrome }, 'chatgpt-web', 'denied', 'host'],
    ['a browser elsewhere matches the browser entry', { host: 'claude.ai', userAgent: UA.firefox }, 'browsers', 'approved', 'user_agent'],
    ['an entry whose id is a built-in recogniser needs no patterns', { host: 'api2.cursor.sh', userAgent: UA.cursor }, 'cursor', 'approved', 'id'],
    ['equally specific matches: the most restrictive wins', { host: 'api.business.githubcopilot.com' }, 'copilot-business', 'denied', 'host'],
    ['process name matches whatever the path and case', { host: 'api.openai.com', process: 'C:\\Program Files\\VS Code\\code.exe', userAgent: 'node' }, 'vscode', 'pending', 'process'],
  ] as Array<[string, AppSignals, string, string, string]>)('%s', (_name, signals, id, status, matchedBy) => {
    expect(attributeApp(signals, catalog)).toMatchObject({ id, status, matchedBy, listed: true });
  });

  it('carries the routing override', () => {
    expect(attributeApp({ host: 'api.openai.com', userAgent: 'internal-bot/2' }, catalog)).toMatchObject({ id: 'internal-bot', routing: 'passthrough' });
  });

  it('reports unusable patterns without failing the catalog', () => {
    const compiled = compileAppCatalog([entry('bad', 'denied', { hosts: ['*.com', 'ok.example.com'], user_agents: ['(unclosed'] })]);
    expect(compiled.problems).toHaveLength(2);
    expect(compiled.problems.join('\n')).toMatch(/App "bad": Invalid host pattern "\*\.com"/);
    expect(compiled.problems.join('\n')).toMatch(/not a valid regular expression/);
    expect(attributeApp({ host: 'ok.example.com' }, compiled)).toMatchObject({ id: 'bad', status: 'denied' });
  });
});

describe('decideApp', () => {
  const app = (status: 'approved' | 'denied' | 'pending', listed = true) => ({ id: 'x', name: 'Weird Tool', status, listed, browser: false, host: 'api.openai.com' });
  it.each([
    ['approved', 'allow', 'allow', false],
    ['denied', 'allow', 'block', false],
    ['pending', 'allow', 'allow', true],
    ['pending', 'block', 'block', true],
  ] as const)('%s with pending_action %s → %s (seen: %s)', (status, pendingAction, action, seen) => {
    const verdict = decideApp(app(status), bundle({ apps: { catalog: [], pending_action: pendingAction } }));
    expect(verdict).toMatchObject({ action, seen });
    if (verdict.action === 'block') {
      expect(verdict.error).toMatchObject({ status: 403, type: 'app_blocked' });
      expect(verdict.error.message).toMatch(/^Bifrost Edge blocked Weird Tool: /);
    }
  });

  it('without a policy every app passes', () => {
    expect(decideApp(app('denied'), undefined)).toMatchObject({ action: 'allow' });
  });
});

describe('isKnownAiHost (shadow AI)', () => {
  it.each([
    ['api.together.xyz', true],
    ['API.Fireworks.ai:443', true],
    ['myco.openai.azure.com', true],
    ['bedrock-runtime.us-east-1.amazonaws.com', true],
    ['us-central1-aiplatform.googleapis.com', true],
    ['aiplatform.googleapis.com', false],
    ['example.com', false],
    ['s3.amazonaws.com', false],
  ])('%s → %s', (host, known) => {
    expect(isKnownAiHost(host)).toBe(known);
  });
});
