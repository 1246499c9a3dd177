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

interface RuleIndex {
  keywords: KeywordSet;
  /** Rule positions by keyword, so candidates come from the keywords found, not a pass over all rules. */
  rulesByKeyword: Map<string, number[]>;
  /** Rules without keywords always run. */
  alwaysRun: number[];
}

const ruleIndexes = new WeakMap<readonly SecretRule[], RuleIndex>();

function indexRules(rules: readonly SecretRule[]): RuleIndex {
  const rulesByKeyword = new Map<string, number[]>();
  const alwaysRun: number[] = [];
  rules.forEach((rule, position) => {
    if (rule.keywords.length === 0) alwaysRun.push(position);
    for (const k of new Set(rule.keywords)) rulesByKeyword.set(k, [...(rulesByKeyword.get(k) ?? []), position]);
  });
  return { keywords: new KeywordSet(rules.flatMap((rule) => rule.keywords)), rulesByKeyword, alwaysRun };
}

function rulesWithKeywordPresent(text: string, rules: readonly SecretRule[]): SecretRule[] {
  let index = ruleIndexes.get(rules);
  if (!index) {
    index = indexRules(rules);
    ruleIndexes.set(rules, index);
  }
  const present = index.keywords.presentIn(text.toLowerCase());
  if (present.size === 0 && index.alwaysRun.length === 0) return [];
  const positions = new Set(index.alwaysRun);
  for (const k of present) for (const position of index.rulesByKeyword.get(k) ?? []) positions.add(position);
  // In the rules' own order, so findings come out as they did before the index.
  return [...positions].sort((a, b) => a - b).map((position) => rules[position]!);
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
  if (!rule.skipPlaceholderCheck && looksLikePlaceholder(secret, { allowRepeats: rule.allowRepeats ?? false })) return false;
  if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) return false;
  return rule.validate ? rule.validate(secret) : true;
}
