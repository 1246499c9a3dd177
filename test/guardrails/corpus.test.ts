/**
 * Precision and recall of the default policy over the corpus: positives with planted secrets / PII and
 * lookalikes that must not fire. A planted value counts as found when a finding of its type overlaps it;
 * every other finding is a false positive.
 */
import { describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import type { Finding } from '../../src/guardrails/finding.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import { buildLookalikes } from './corpus/lookalikes.js';
import { buildPositives } from './corpus/positives.js';

const compiled = compileGuardrailPolicy({});
if (!compiled.ok) throw new Error(compiled.errors.join('; '));
const policy = compiled.policy;

const positives = buildPositives();
const lookalikes = buildLookalikes();

function evaluate() {
  let truePositives = 0;
  const misses: string[] = [];
  const falsePositives: string[] = [];
  const describeFinding = (id: string, text: string, f: Finding): string =>
    `${id}: ${f.type}/${f.ruleId} ${JSON.stringify(text.slice(f.start, f.end)).slice(0, 80)}`;

  for (const c of positives) {
    const findings = scanText(c.text, policy);
    const used = new Set<Finding>();
    for (const planted of c.planted) {
      const start = c.text.indexOf(planted.value);
      const end = start + planted.value.length;
      const hit = findings.find((f) => f.type === planted.type && f.start < end && start < f.end);
      if (start >= 0 && hit) {
        truePositives++;
        findings.filter((f) => f.start < end && start < f.end).forEach((f) => used.add(f));
      } else misses.push(`${c.id}: ${planted.type} ${JSON.stringify(planted.value).slice(0, 60)} -> ${JSON.stringify(findings.map((f) => f.ruleId))}`);
    }
    for (const f of findings) if (!used.has(f)) falsePositives.push(describeFinding(c.id, c.text, f));
  }
  for (const l of lookalikes) for (const f of scanText(l.text, policy)) falsePositives.push(describeFinding(l.id, l.text, f));

  const plantedCount = positives.reduce((n, c) => n + c.planted.length, 0);
  const precision = truePositives / (truePositives + falsePositives.length);
  const recall = truePositives / plantedCount;
  return { truePositives, plantedCount, misses, falsePositives, precision, recall };
}

describe('guardrail corpus', () => {
  it('is large enough and covers every finding type', () => {
    expect(positives.length).toBeGreaterThanOrEqual(150);
    expect(lookalikes.length).toBeGreaterThanOrEqual(150);
    const types = new Set(positives.flatMap((c) => c.planted.map((p) => p.type)));
    for (const type of ['secret', 'email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'national_id', 'passport', 'date_of_birth']) {
      expect(types.has(type as Finding['type']), type).toBe(true);
    }
  });

  it('reaches precision and recall of at least 0.95 with the default policy', () => {
    const r = evaluate();
    console.log(
      `guardrail corpus: ${positives.length} positive prompts (${r.plantedCount} planted values), ${lookalikes.length} lookalikes\n` +
        `  precision ${r.precision.toFixed(4)}  recall ${r.recall.toFixed(4)}  (TP ${r.truePositives}, FP ${r.falsePositives.length}, FN ${r.misses.length})` +
        (r.misses.length ? `\n  missed:\n    ${r.misses.join('\n    ')}` : '') +
        (r.falsePositives.length ? `\n  false positives:\n    ${r.falsePositives.join('\n    ')}` : ''),
    );
    expect(r.precision).toBeGreaterThanOrEqual(0.95);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
  });
});
