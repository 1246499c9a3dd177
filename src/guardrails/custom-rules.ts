/**
 * Administrator-written rules from policy: a regex, or a list of keywords. Every rule is validated when the
 * policy loads, and a rule that cannot run is refused with an error naming the rule and the fix. Regexes run
 * on a linear-time engine (see linear-pattern.ts), so no pattern can backtrack catastrophically; keyword rules
 * are escaped literals on V8's engine, which cannot backtrack either.
 */
import type { Finding } from './finding.js';
import { compileLinearPattern, type LinearPattern } from './linear-pattern.js';

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
  /** The author's pattern on the linear-time engine, or an escaped, word-bounded keyword alternation. */
  pattern: LinearPattern;
}

export type CustomRuleCompilation = { ok: true; rule: CompiledCustomRule } | { ok: false; error: string };

const ALLOWED_FLAGS = /^[imsu]*$/;
const MAX_MATCHES_PER_RULE = 500;

export function compileCustomRule(definition: CustomRuleDefinition): CustomRuleCompilation {
  const refuse = (what: string): CustomRuleCompilation => ({ ok: false, error: `custom rule "${definition.id}": ${what}` });
  const base = { id: definition.id, message: definition.message, ...(definition.action ? { action: definition.action } : {}) };

  if (definition.keywords !== undefined) {
    const words = definition.keywords.map((k) => k.trim()).filter((k) => k.length > 0);
    if (words.length === 0) return refuse('keywords is empty; list at least one non-blank word or phrase');
    return { ok: true, rule: { ...base, pattern: keywordPattern(words) } };
  }

  const flags = definition.flags ?? '';
  if (!ALLOWED_FLAGS.test(flags)) {
    return refuse(`flags "${flags}" are not supported; use only i, m, s and u (matching is always global)`);
  }
  const compiled = compileLinearPattern(definition.pattern ?? '', flags);
  if (!compiled.ok) return refuse(compiled.error);
  if (compiled.matchesEmptyText) {
    return refuse('pattern matches empty text, so it would fire everywhere; require at least one character');
  }
  return { ok: true, rule: { ...base, pattern: compiled.pattern } };
}

/** Keywords match case-insensitively as whole words/phrases; they are escaped, so they cannot backtrack. */
function keywordPattern(words: string[]): LinearPattern {
  const escaped = [...new Set(words)]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&').replace(/\s+/g, '\\s+'));
  const regex = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${escaped.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  return {
    matchSpans(text, limit) {
      const spans: Array<[number, number]> = [];
      for (const match of text.matchAll(regex)) {
        if (spans.length >= limit) break;
        spans.push([match.index, match.index + match[0].length]);
      }
      return spans;
    },
  };
}

export function detectCustom(text: string, rules: readonly CompiledCustomRule[]): Finding[] {
  return rules.flatMap((rule) =>
    rule.pattern
      .matchSpans(text, MAX_MATCHES_PER_RULE)
      .map(([start, end]): Finding => ({ type: 'custom', ruleId: rule.id, start, end, confidence: 0.9 })),
  );
}
