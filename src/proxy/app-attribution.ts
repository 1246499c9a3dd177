/**
 * Names the app behind a request from its User-Agent, for attribution headers and logs.
 * Known AI clients get stable names; anything else falls back to the first product token.
 */
const KNOWN_APPS: Array<[RegExp, string]> = [
  [/claude-cli|claude-code/i, 'claude-code'],
  [/codex/i, 'codex'],
  [/cursor/i, 'cursor'],
  [/githubcopilot|copilot/i, 'github-copilot'],
  [/^OpenAI\/JS/i, 'openai-node'],
  [/^OpenAI\/Python/i, 'openai-python'],
  [/^Anthropic\/JS/i, 'anthropic-node'],
  [/^Anthropic\/Python/i, 'anthropic-python'],
  [/ChatGPT/i, 'chatgpt-desktop'],
  [/Claude\//i, 'claude-desktop'],
  [/python-requests/i, 'python-requests'],
  [/^curl\//i, 'curl'],
  [/Edg\//, 'edge-browser'],
  [/Firefox\//, 'firefox'],
  [/Chrome\/|Chromium\//, 'chrome'],
  [/Safari\//, 'safari'],
];

export function appFromUserAgent(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  for (const [pattern, name] of KNOWN_APPS) if (pattern.test(userAgent)) return name;
  const token = /^[A-Za-z0-9._-]+/.exec(userAgent)?.[0];
  return token ? token.toLowerCase().slice(0, 64) : 'unknown';
}
