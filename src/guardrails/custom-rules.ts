/**
 * Administrator-written rules from policy: a regex, or a list of keywords. Every rule is validated when the
 * policy loads, and a rule that could stall the proxy is refused with an error naming the rule and the fix:
 * it must compile, must not match empty text, must pass the static backtracking check, and must finish
 * adversarial probes within a time budget.
 */
import type { Finding } from './finding.js';
import { findBacktrackingRisk, probeRegexTiming } from './regex-safety.js';

export interface CustomRuleDefinition {
  id: string;
  message: string;
  pattern?: string;
  flags?: string;
  keywords?: string[];
  action?: 'block' | 'redact' | 'flag';
}

export interface CompiledCustomRule {
  id: string;
  message: string;
  action?: 'block' | 'redact' | 'flag';
  /** Global regex: either the author's pattern or an escaped, word-bounded keyword alternation. */
  pattern: RegExp;
}

export type CustomRuleCompilation = { ok: true; rule: CompiledCustomRule } | { ok: false; error: string };

const ALLOWED_FLAGS = /^[imsu]*$/;
const MAX_MATCHES_PER_RULE = 500;

export function compileCustomRule(definition: CustomRuleDefinition, options: { probe?: boolean } = {}): CustomRuleCompilation {
  const refuse = (what: string): CustomRuleCompilation => ({ ok: false, error: `custom rule "${definition.id}": ${what}` });
  const base = { id: definition.id, message: definition.message, ...(definition.action ? { action: definition.action } : {}) };

  if (definition.keywords !== undefined) {
    const words = definition.keywords.map((k) => k.trim()).filter((k) => k.length > 0);
    if (words.length === 0) return refuse('keywords is empty; list at least one non-blank word or phrase');
    return { ok: true, rule: { ...base, pattern: keywordPattern(words) } };
  }

  const source = definition.pattern ?? '';
  const flags = definition.flags ?? '';
  if (!ALLOWED_FLAGS.test(flags)) {
    return refuse(`flags "${flags}" are not supported; use only i, m, s and u (matching is always global)`);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(source, `g${flags}`);
  } catch (error) {
    return refuse(`pattern does not compile (${(error as Error).message}); fix the regex syntax`);
  }
  if (new RegExp(source, flags).test('')) {
    return refuse('pattern matches empty text, so it would fire everywhere; require at least one character');
  }
  const risk = findBacktrackingRisk(source, flags);
  if (risk) return refuse(`pattern is unsafe near \`${risk.fragment}\`: ${risk.reason}`);
  if (options.probe !== false) {
    const probe = probeRegexTiming(pattern);
    if (!probe.ok) {
      return refuse(
        `pattern took ${probe.slowestMs.toFixed(0)} ms on ${probe.slowestInput} (catastrophic backtracking); ` +
          'simplify it: avoid nested or adjacent unbounded quantifiers over the same characters, and bound repetitions ({1,64} instead of +)',
      );
    }
  }
  return { ok: true, rule: { ...base, pattern } };
}

/** Keywords match case-insensitively as whole words/phrases; they are escaped, so they cannot backtrack. */
function keywordPattern(words: string[]): RegExp {
  const escaped = [...new Set(words)]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&').replace(/\s+/g, '\\s+'));
  return new RegExp(`(?<![\\p{L}\\p{N}_])(?:${escaped.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
}

export function detectCustom(text: string, rules: readonly CompiledCustomRule[]): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const pattern = rule.pattern;
    pattern.lastIndex = 0;
    let matches = 0;
    for (let match = pattern.exec(text); match !== null && matches < MAX_MATCHES_PER_RULE; match = pattern.exec(text)) {
      if (match[0].length === 0) {
        pattern.lastIndex++;
        continue;
      }
      matches++;
      findings.push({ type: 'custom', ruleId: rule.id, start: match.index, end: match.index + match[0].length, confidence: 0.9 });
    }
    pattern.lastIndex = 0;
  }
  return findings;
}
