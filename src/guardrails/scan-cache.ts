/**
 * Findings of texts scanned recently, per compiled policy. Chat clients and coding agents send the whole
 * conversation with every turn (Claude Code, Codex, Cursor: the system prompt, earlier messages and tool
 * results again and again), so without this each turn re-scans everything said so far and the cost of a
 * turn grows with the conversation (~15 MB/s: 70 ms of CPU per turn at 1 MB of context). A text is known
 * by its SHA-256, about a hundred times cheaper than scanning it; only the new messages are scanned.
 *
 * A new policy is a new compiled object and starts with an empty cache, so findings never outlive the
 * rules that produced them. Scanning is deterministic (the text and the compiled policy decide the
 * findings), which is what makes a cached answer the same answer.
 */
import { hash } from 'node:crypto';
import type { CompiledGuardrailPolicy } from './compile-policy.js';
import type { Finding } from './finding.js';
import { scanText } from './scan-text.js';

/** Texts shorter than this are scanned every time: hashing and bookkeeping would cost about as much. */
export const MIN_CACHED_CHARS = 512;
/** Distinct texts remembered per policy: a few long conversations' worth. Each entry is a hash and its findings. */
export const MAX_CACHED_TEXTS = 4096;

class ScanResults<T> {
  /** Insertion order is recency: a hit moves its entry to the end, the oldest is dropped first. */
  private readonly findingsByDigest = new Map<string, T>();

  get(digest: string): T | undefined {
    const findings = this.findingsByDigest.get(digest);
    if (findings === undefined) return undefined;
    this.findingsByDigest.delete(digest);
    this.findingsByDigest.set(digest, findings);
    return findings;
  }

  set(digest: string, findings: T): void {
    this.findingsByDigest.set(digest, findings);
    if (this.findingsByDigest.size <= MAX_CACHED_TEXTS) return;
    const oldest = this.findingsByDigest.keys().next().value;
    if (oldest !== undefined) this.findingsByDigest.delete(oldest);
  }
}

const resultsByPolicy = new WeakMap<CompiledGuardrailPolicy, ScanResults<readonly Finding[]>>();
/** Groups apart from single texts: a group's digest covers several texts, and its answer is one list per text. */
const groupResultsByPolicy = new WeakMap<CompiledGuardrailPolicy, ScanResults<ReadonlyArray<readonly Finding[]>>>();

function resultsFor<T>(byPolicy: WeakMap<CompiledGuardrailPolicy, ScanResults<T>>, compiled: CompiledGuardrailPolicy): ScanResults<T> {
  let results = byPolicy.get(compiled);
  if (!results) {
    results = new ScanResults<T>();
    byPolicy.set(compiled, results);
  }
  return results;
}

/**
 * scanText(text, compiled), answered from memory when this policy has scanned the same text before. The
 * findings are shared between calls: read them, do not change them.
 */
export function scanTextRemembered(text: string, compiled: CompiledGuardrailPolicy): readonly Finding[] {
  if (text.length < MIN_CACHED_CHARS || !compiled.policy.enabled) return scanText(text, compiled);
  const results = resultsFor(resultsByPolicy, compiled);
  const digest = hash('sha256', text, 'base64');
  const known = results.get(digest);
  if (known) return known;
  const findings = Object.freeze(scanText(text, compiled).map((finding) => Object.freeze(finding)));
  results.set(digest, findings);
  return findings;
}

/**
 * scanText of each of `texts`, remembered as one entry: texts that come back together and unchanged, each too
 * short to be remembered alone. An agent resends its tool definitions on every turn, and one definition is a
 * description and a dozen short parameter descriptions: scanned one by one, a few dozen tools cost about a
 * millisecond per turn again and again; remembered together, one hash per definition. The answers are those
 * of scanning the texts one by one (each text is still scanned on its own, never joined to its neighbours).
 */
export function scanTextsRemembered(texts: readonly string[], compiled: CompiledGuardrailPolicy): ReadonlyArray<readonly Finding[]> {
  const chars = texts.reduce((sum, text) => sum + text.length, 0);
  if (chars < MIN_CACHED_CHARS || !compiled.policy.enabled) return texts.map((text) => scanText(text, compiled));
  const results = resultsFor(groupResultsByPolicy, compiled);
  // Each text with its length first, so ['ab', 'c'] and ['a', 'bc'] are told apart.
  const digest = hash('sha256', texts.map((text) => `${text.length}:${text}`).join(''), 'base64');
  const known = results.get(digest);
  if (known) return known;
  const findings = Object.freeze(texts.map((text) => Object.freeze(scanTextRemembered(text, compiled).map((finding) => Object.freeze(finding)))));
  results.set(digest, findings);
  return findings;
}
