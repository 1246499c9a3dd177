/**
 * One string in, findings out: runs the policy's credential rules, PII detectors and custom rules, drops
 * disabled rules and low-confidence matches, and resolves overlaps so each character is reported by at most
 * one built-in rule: the one whose action is strongest (a blocking credential is never narrowed to a redacted
 * e-mail inside it), then the most confident (a vendor rule beats the generic one on the same token).
 * Custom rules are reported even when they overlap, because an administrator asked for them explicitly.
 */
import { actionFor, type CompiledGuardrailPolicy } from './compile-policy.js';
import { detectCustom } from './custom-rules.js';
import type { Finding } from './finding.js';
import type { GuardrailAction } from './policy.js';
import { composeViews, unicodeView } from './unicode-view.js';
import { decodedJsonView } from './json-text-view.js';
import { detectSecrets, type SecretScanOptions } from './secret-detector.js';

/**
 * Offsets in the findings are into `text` as given, also when it was scanned as a view: JSON with its string
 * escapes decoded (json-text-view.ts), and Unicode spaces, full-width forms and zero-width characters
 * normalised (unicode-view.ts).
 */
export function scanText(text: string, compiled: CompiledGuardrailPolicy, options: SecretScanOptions = {}): Finding[] {
  if (!compiled.policy.enabled || text.length === 0) return [];
  const json = decodedJsonView(text);
  const unicode = unicodeView(json?.text ?? text);
  const view = json && unicode ? composeViews(json, unicode) : (unicode ?? json);
  if (!view) return scanPlainText(text, compiled, options);
  return scanPlainText(view.text, compiled, options).map((finding) => {
    const [start, end] = view.toRaw(finding.start, finding.end);
    return { ...finding, start, end };
  });
}

function scanPlainText(text: string, compiled: CompiledGuardrailPolicy, options: SecretScanOptions): Finding[] {
  const builtIn = [...detectSecrets(text, compiled.secretRules, options), ...detectPii(text, compiled, options)].filter(
    (f) => f.confidence >= compiled.policy.minConfidence && !compiled.disabledRuleIds.has(f.ruleId),
  );
  const custom = detectCustom(text, compiled.customRules);
  return [...withoutOverlaps(builtIn, (f) => actionFor(f, compiled)), ...custom].sort((a, b) => a.start - b.start || a.end - b.end);
}

function detectPii(text: string, compiled: CompiledGuardrailPolicy, options: SecretScanOptions): Finding[] {
  if (compiled.piiDetectors.length === 0) return [];
  const lower = options.prefilter === false ? '' : text.toLowerCase();
  return compiled.piiDetectors
    .filter((d) => options.prefilter === false || d.keywords.length === 0 || d.keywords.some((k) => lower.includes(k)))
    .flatMap((d) => d.detect(text));
}

const ACTION_STRENGTH: Record<GuardrailAction, number> = { block: 3, redact: 2, flag: 1 };

/** Greedy by priority: the stronger action, then confidence, then credentials before PII, then the longer span. */
export function withoutOverlaps(findings: Finding[], actionOf: (finding: Finding) => GuardrailAction): Finding[] {
  const strength = new Map(findings.map((f) => [f, ACTION_STRENGTH[actionOf(f)]]));
  const ranked = [...findings].sort(
    (a, b) =>
      strength.get(b)! - strength.get(a)! ||
      b.confidence - a.confidence ||
      Number(b.type === 'secret') - Number(a.type === 'secret') ||
      b.end - b.start - (a.end - a.start) ||
      a.start - b.start,
  );
  const kept: Finding[] = [];
  const taken: Array<[number, number]> = [];
  for (const finding of ranked) {
    if (overlapsAny(taken, finding.start, finding.end)) continue;
    insertSorted(taken, [finding.start, finding.end]);
    kept.push(finding);
  }
  return kept;
}

/** `taken` holds disjoint intervals sorted by start. */
function overlapsAny(taken: Array<[number, number]>, start: number, end: number): boolean {
  const i = firstEndingAfter(taken, start);
  const interval = taken[i];
  return interval !== undefined && interval[0] < end;
}

function firstEndingAfter(taken: Array<[number, number]>, position: number): number {
  let low = 0;
  let high = taken.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (taken[mid]![1] <= position) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertSorted(taken: Array<[number, number]>, interval: [number, number]): void {
  const i = firstEndingAfter(taken, interval[0]);
  taken.splice(i, 0, interval);
}
