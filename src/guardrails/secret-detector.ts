/**
 * Runs credential rules over a string. Two things keep it cheap on large prompts: a keyword prefilter
 * (all distinct keywords are found in one pass over the lowercased text; a rule's regex runs only if one of
 * its keywords occurs), and a cap on matches per rule so a pathological input cannot produce unbounded work.
 */
import { shannonEntropy } from './entropy.js';
import { KeywordSet } from './keyword-prefilter.js';
import type { Finding } from './finding.js';
import { looksLikePlaceholder } from './placeholders.js';
import type { SecretRule } from './secret-rules/index.js';

export interface SecretScanOptions {
  /** Turn the keyword prefilter off (benchmarks measure what it saves; results must be identical). */
  prefilter?: boolean;
}

/** More matches than this from one rule in one text means the text is an attack or a dump; stop there. */
const MAX_MATCHES_PER_RULE = 500;

export function detectSecrets(text: string, rules: readonly SecretRule[], options: SecretScanOptions = {}): Finding[] {
  const candidates = options.prefilter === false ? rules : rulesWithKeywordPresent(text, rules);
  const findings: Finding[] = [];
  for (const rule of candidates) collectRuleFindings(text, rule, findings);
  return findings;
}

const keywordSets = new WeakMap<readonly SecretRule[], KeywordSet>();

function rulesWithKeywordPresent(text: string, rules: readonly SecretRule[]): SecretRule[] {
  let keywords = keywordSets.get(rules);
  if (!keywords) {
    keywords = new KeywordSet(rules.flatMap((rule) => rule.keywords));
    keywordSets.set(rules, keywords);
  }
  const present = keywords.presentIn(text.toLowerCase());
  return rules.filter((rule) => rule.keywords.length === 0 || rule.keywords.some((k) => present.has(k)));
}

function collectRuleFindings(text: string, rule: SecretRule, into: Finding[]): void {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  let matches = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (match[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    if (++matches > MAX_MATCHES_PER_RULE) break;
    const [start, end] = match.indices?.groups?.['secret'] ?? [match.index, match.index + match[0].length];
    const secret = text.slice(start, end);
    if (!isAcceptedSecret(secret, rule)) continue;
    into.push({ type: 'secret', ruleId: rule.id, start, end, confidence: rule.confidence });
  }
  pattern.lastIndex = 0;
}

function isAcceptedSecret(secret: string, rule: SecretRule): boolean {
  if (looksLikePlaceholder(secret, { allowRepeats: rule.allowRepeats ?? false })) return false;
  if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) return false;
  return rule.validate ? rule.validate(secret) : true;
}
