import { describe, expect, it } from 'vitest';
import { compile } from './compile-or-throw.js';
import { createStreamScanner, type StreamFinding } from '../../src/guardrails/stream-scanner.js';
import { ALNUM, B64URL, Fake, j } from './corpus/fake-data.js';


const f = new Fake('stream');
const openaiKey = j('sk-', 'proj-', f.str(B64URL, 120));
const githubToken = j('gh', 'p_', f.str(ALNUM, 36));

function feed(chunks: string[], policy = compile(), options = {}): StreamFinding[] {
  const scanner = createStreamScanner(policy, options);
  return [...chunks.flatMap((c) => scanner.push(c)), ...scanner.end()];
}

function chunksOf(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe('createStreamScanner', () => {
  const prefix = 'Sure! Here is the configuration you asked for. '.repeat(30);
  const text = `${prefix}OPENAI_API_KEY=${openaiKey}\nand mail jane.doe@acme-corp.com or use ${githubToken}. Done.`;
  const expected = [
    { ruleId: 'openai-project-key', start: text.indexOf(openaiKey), end: text.indexOf(openaiKey) + openaiKey.length },
    { ruleId: 'email', start: text.indexOf('jane.doe'), end: text.indexOf('jane.doe') + 'jane.doe@acme-corp.com'.length },
    { ruleId: 'github-pat', start: text.indexOf(githubToken), end: text.indexOf(githubToken) + githubToken.length },
  ];

  it.each([1, 3, 7, 64, 500, 5000])('finds the same spans, once each, with chunks of %i chars', (size) => {
    const findings = feed(chunksOf(text, size));
    expect(findings.map(({ ruleId, start, end }) => ({ ruleId, start, end }))).toEqual(expected);
    expect(findings.every((x) => x.action === 'flag')).toBe(true);
  });

  it('finds a secret split at every possible position across two chunks', () => {
    const line = `token: ${githubToken} end`;
    const start = line.indexOf(githubToken);
    for (let cut = 1; cut < line.length; cut++) {
      const findings = feed([line.slice(0, cut), line.slice(cut)], compile(), { minScanChars: 1, holdbackChars: 64 });
      expect(findings.map((x) => [x.ruleId, x.start])).toEqual([['github-pat', start]]);
    }
  });

  it('keeps absolute offsets after the window slides far past the start', () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(2000);
    const stream = `${filler}${githubToken} ${filler}`;
    const findings = feed(chunksOf(stream, 100));
    expect(findings).toHaveLength(1);
    expect(stream.slice(findings[0]!.start, findings[0]!.end)).toBe(githubToken);
  });

  it('stops inspecting after maxInspectBytes and says so', () => {
    const scanner = createStreamScanner(compile({ maxInspectBytes: 1024 }));
    scanner.push('a'.repeat(1000));
    scanner.push(`more text ${githubToken}`);
    expect(scanner.oversize).toBe(true);
    expect(scanner.inspectedBytes).toBe(1024);
    expect(scanner.push(githubToken)).toEqual([]);
  });

  it('ignores pushes after end()', () => {
    const scanner = createStreamScanner(compile());
    scanner.end();
    expect(scanner.push(githubToken)).toEqual([]);
    expect(scanner.end()).toEqual([]);
  });
});

describe('key blocks longer than the window', () => {
  it('reports a 12 KB private key streamed in small chunks', () => {
    const body = f.str(B64URL.replace(/[-_]/g, '+'), 12_000).replace(/(.{64})/g, '$1\n');
    const key = `-----BEGIN ${'PRIVATE'} KEY-----\n${body}\n-----END ${'PRIVATE'} KEY-----`;
    const filler = 'Here is some explanatory prose for the answer. '.repeat(200);
    const found = feed(chunksOf(`${filler}\n${key}\n${filler}`, 50), compile({ scanResponses: true }));
    expect(found.map((x) => x.ruleId)).toContain('private-key-truncated');
  });
});
