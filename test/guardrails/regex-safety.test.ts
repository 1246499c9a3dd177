import { describe, expect, it } from 'vitest';
import { compileCustomRule } from '../../src/guardrails/custom-rules.js';
import { findBacktrackingRisk, probeRegexTiming } from '../../src/guardrails/regex-safety.js';

describe('static backtracking check', () => {
  it.each([
    ['(a+)+'],
    ['(a*)*'],
    ['(.*)*'],
    ['(a|a)*'],
    ['(a|ab)*c'],
    ['(\\d|\\w)+$'],
    ['^(\\w+\\s?)*$'],
    ['(x+x+)+y'],
    ['((ab)+)+'],
    ['(?:[a-z]+)*@'],
    ['([a-zA-Z0-9]+)*$'],
    ['(a{1,10}){1,10}b'],
    ['(\\1a)+'],
    ['(?:a|)+'],
  ])('refuses %s', (source) => {
    expect(findBacktrackingRisk(source)).toBeDefined();
  });

  it.each([
    ['Project\\s+Falcon'],
    ['\\bACME-\\d{6}\\b'],
    ['(?:[a-z0-9-]+\\.)+acme\\.internal'],
    ['(\\w+,)+end'],
    ['(?:foo|bar)+'],
    ['[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}'],
    ['(?:\\d{3}-){2}\\d{4}'],
    ['customer-[0-9a-f]{8}'],
    ['(?<name>ab)\\k<name>'],
    ['[\\u0041-\\u005A]+'],
  ])('accepts %s', (source) => {
    expect(findBacktrackingRisk(source)).toBeUndefined();
  });

  it('applies the i flag when comparing characters', () => {
    expect(findBacktrackingRisk('(?:a+A)+', '')).toBeUndefined();
    expect(findBacktrackingRisk('(?:a+A)+', 'i')).toBeDefined();
  });
});

describe('timed probe', () => {
  it('passes linear patterns quickly', () => {
    const result = probeRegexTiming(/\bkey-[a-f0-9]{32}\b/g);
    expect(result.ok).toBe(true);
  });

  it('catches polynomial blow-ups the static check allows', () => {
    const source = '\\d*\\d*\\d*\\d*\\d*x';
    expect(findBacktrackingRisk(source)).toBeUndefined();
    const result = probeRegexTiming(new RegExp(source, 'g'));
    expect(result.ok).toBe(false);
    expect(result.slowestInput).toContain('repeated');
  });
});

describe('custom rule validation', () => {
  it.each([
    [{ id: 'broken', message: 'm', pattern: '([a-z' }, /custom rule "broken": pattern does not compile .*fix the regex syntax/],
    [{ id: 'nested', message: 'm', pattern: '(a+)+$' }, /custom rule "nested": pattern is unsafe near `\(a\+\)\+`: nested quantifier/],
    [{ id: 'alt', message: 'm', pattern: '(a|ab)*c' }, /custom rule "alt": pattern is unsafe .*ambiguous alternation/],
    [{ id: 'empty', message: 'm', pattern: 'a*' }, /custom rule "empty": pattern matches empty text/],
    [{ id: 'flags', message: 'm', pattern: 'a', flags: 'gy' }, /custom rule "flags": flags "gy" are not supported/],
    [{ id: 'poly', message: 'm', pattern: '\\d*\\d*\\d*\\d*\\d*x' }, /custom rule "poly": pattern took \d+ ms on .* \(catastrophic backtracking\)/],
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
    const matches = [...text.matchAll(result.rule.pattern)].map((m) => m[0]);
    expect(matches).toEqual(['project  falcon', 'C++ core']);
  });
});
