/**
 * A guard against catastrophic backtracking, not a benchmark: every adversarial 64 KB input must scan in
 * well under 200 ms, with the prefilter on (production) and off (every regex runs).
 */
import { describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import { adversarialInputs } from './corpus/adversarial-inputs.js';

const LIMIT_MS = 200;
const compiled = compileGuardrailPolicy({
  customRules: [
    { id: 'ticket', message: 'internal ticket id', pattern: '\\bACME-\\d{6}\\b' },
    { id: 'codename', message: 'codename', keywords: ['Project Falcon', 'Bluebird'] },
  ],
});
if (!compiled.ok) throw new Error(compiled.errors.join('; '));
const policy = compiled.policy;

/**
 * Best of a few runs: a CI machine shared with other jobs can stall any single run (GC, CPU contention),
 * while catastrophic backtracking is slow every time.
 */
function fastestOf(runs: number, scan: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < runs && best >= LIMIT_MS; i++) {
    const started = performance.now();
    scan();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('scan time on adversarial 64 KB inputs', () => {
  it.each(adversarialInputs(64 * 1024).map((input) => [input.name, input.text] as const))('%s', (_name, text) => {
    for (const prefilter of [true, false]) {
      const elapsed = fastestOf(3, () => scanText(text, policy, { prefilter }));
      expect(elapsed, `prefilter ${prefilter}: ${elapsed.toFixed(1)} ms`).toBeLessThan(LIMIT_MS);
    }
  });

  it('the prefilter does not change results', () => {
    const text = adversarialInputs(4096).map((i) => i.text).join('\n');
    expect(scanText(text, policy, { prefilter: false })).toEqual(scanText(text, policy, { prefilter: true }));
  });
});
