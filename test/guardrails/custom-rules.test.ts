/**
 * Custom rules from policy. Their regexes run on a linear-time engine: patterns that backtrack
 * catastrophically on V8 must compile at once and scan crafted text in linear time, in a real `bifrost-edge
 * scan` process (so a regression that hangs is killed by the timeout instead of freezing the test run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileCustomRule, detectCustom } from '../../src/guardrails/custom-rules.js';

const CLI = resolve(import.meta.dirname, '../../bin/bifrost-edge.js');

/** Runs `bifrost-edge scan --json --policy F` on `input`; null when it did not finish within `timeoutMs`. */
function scanInProcess(policy: unknown, input: string, timeoutMs: number): { decision: string; ms: number } | null {
  const dir = mkdtempSync(join(tmpdir(), 'edge-custom-rules-'));
  try {
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const started = performance.now();
    const run = spawnSync(process.execPath, [CLI, 'scan', '--json', '--policy', file], { input, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - started;
    if (run.signal === 'SIGTERM' && ms >= timeoutMs) return null;
    expect(run.error, String(run.error)).toBeUndefined();
    expect(run.status, run.stdout + run.stderr).toBe(0);
    return { decision: (JSON.parse(run.stdout) as { decision: string }).decision, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('custom regex rules on crafted input', () => {
  // Each passed the old static check and timed probe (or hung the probe), then took seconds to forever.
  it.each([
    ['polynomial', 'ticket=\\d*\\d*\\d*\\d*\\d*x', `ticket=${'1'.repeat(180)}`],
    ['exponential', 'ref:(?:\\w\\w?)+;', `ref:${'a'.repeat(46)}`],
    ['hangs the probe', '(?:\\w\\w\\w\\w?)+;', `${'a'.repeat(60)}`],
  ])('%s: %s compiles and scans at once', (_name, pattern, crafted) => {
    const policy = { customRules: [{ id: 'crafted', message: 'internal reference', pattern }] };
    const result = scanInProcess(policy, `${crafted}\n`, 20_000);
    expect(result, 'bifrost-edge scan did not finish within 20 s').not.toBeNull();
    expect(result!.decision).toBe('allow');
  });

  it('scans 1 MB of crafted text in linear time', () => {
    const policy = { customRules: [{ id: 'crafted', message: 'internal reference', pattern: 'ref:(?:\\w\\w?)+;' }] };
    const result = scanInProcess(policy, `ref:${'a'.repeat(1024 * 1024)}`, 20_000);
    expect(result, 'bifrost-edge scan did not finish within 20 s').not.toBeNull();
    expect(result!.decision).toBe('allow');
  });
});

describe('custom regex rules', () => {
  const spans = (pattern: string, text: string, flags?: string): string[] => {
    const compiled = compileCustomRule({ id: 'r', message: 'm', pattern, ...(flags ? { flags } : {}) });
    if (!compiled.ok) throw new Error(compiled.error);
    return detectCustom(text, [compiled.rule]).map((f) => text.slice(f.start, f.end));
  };

  it.each([
    ['\\bACME-\\d{6}\\b', 'see ACME-123456 and ACME-1234567', undefined, ['ACME-123456']],
    ['project\\s+falcon', 'Project  FALCON status', 'i', ['Project  FALCON']],
    ['(?<![A-Za-z])INV-\\d+', 'xINV-1 INV-22 -INV-333', undefined, ['INV-22', 'INV-333']],
    ['(?<id>cust)-[0-9a-f]{4}', 'cust-beef cust-xyz1', undefined, ['cust-beef']],
    ['[\\u0041-\\u005A]{3}-\\u{31}', 'ABC-1 abc-1', undefined, ['ABC-1']],
    ['^secret$', 'line\nsecret\nmore', 'm', ['secret']],
    ['begin.end', 'begin\nend', 's', ['begin\nend']],
    ['\\d{3}', '😀😀 123', 'u', ['123']],
  ])('%s finds what the JavaScript regex would', (pattern, text, flags, expected) => {
    expect(spans(pattern, text, flags)).toEqual(expected);
  });

  it('reports offsets in UTF-16 units, as the rest of the scan does', () => {
    const compiled = compileCustomRule({ id: 'r', message: 'm', pattern: 'ACME-\\d+' });
    if (!compiled.ok) throw new Error(compiled.error);
    expect(detectCustom('😀 é ACME-7', [compiled.rule]).map((f) => [f.start, f.end])).toEqual([[5, 11]]);
  });

  it('stops at 500 matches per rule', () => {
    const compiled = compileCustomRule({ id: 'r', message: 'm', pattern: 'x' });
    if (!compiled.ok) throw new Error(compiled.error);
    expect(detectCustom('x'.repeat(2000), [compiled.rule])).toHaveLength(500);
  });

  it.each([
    [{ id: 'broken', message: 'm', pattern: '([a-z' }, /custom rule "broken": pattern does not compile \(missing closing \]: `\[a-z`\).*fix the syntax/],
    [{ id: 'ahead', message: 'm', pattern: 'key(?=\\d)' }, /custom rule "ahead": pattern uses a lookahead .*match the following characters instead/],
    [{ id: 'ahead2', message: 'm', pattern: 'key(?!s)' }, /custom rule "ahead2": pattern uses a lookahead/],
    [{ id: 'backref', message: 'm', pattern: '(a)\\1' }, /custom rule "backref": pattern uses a backreference .*spell out the repeated part/],
    [{ id: 'named', message: 'm', pattern: '(?<x>a)\\k<x>' }, /custom rule "named": pattern uses a backreference/],
    [{ id: 'behind', message: 'm', pattern: '(?<=(a))b' }, /custom rule "behind": pattern has a capture group inside a lookbehind.*use \(\?:\.\.\.\)/],
    [{ id: 'count', message: 'm', pattern: 'a{1,2000}' }, /custom rule "count": pattern has a repeat count over 1000/],
    [{ id: 'big', message: 'm', pattern: '(?:[a-z]{1,100}-){1,10}x' }, /custom rule "big": pattern is too large \(\d+ engine instructions, at most 1000\)/],
    [{ id: 'empty', message: 'm', pattern: 'a*' }, /custom rule "empty": pattern matches empty text/],
    [{ id: 'flags', message: 'm', pattern: 'a', flags: 'gy' }, /custom rule "flags": flags "gy" are not supported/],
    [{ id: 'blank', message: 'm', keywords: ['  '] }, /custom rule "blank": keywords is empty/],
  ])('refuses %j', (definition, error) => {
    const result = compileCustomRule(definition);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });

  it('compiles keyword rules as escaped, case-insensitive whole words', () => {
    const result = compileCustomRule({ id: 'codename', message: 'Project names are confidential', keywords: ['Project Falcon', 'c++ core'] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const text = 'Status of project  falcon and C++ core, not projectfalcons';
    expect(detectCustom(text, [result.rule]).map((f) => text.slice(f.start, f.end))).toEqual(['project  falcon', 'C++ core']);
  });
});
