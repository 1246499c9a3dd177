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

/**
 * The default inspection limit is 2 MB, and the scan runs on the proxy's event loop. Units that start a match
 * of a prefixed rule over and over (each attempt once scanned thousands of characters) and thousands of
 * e-mails after one long token (each looked back to the start of the text) took 1-13 s at 2 MB.
 * The bound is loose on purpose (prose scans in ~50 ms, the worst of these ~0.6 s): timing targets belong in
 * `npm run bench`.
 */
describe('scan time on 2 MB of repeated rule prefixes', () => {
  const MB2 = 2 * 1024 * 1024 - 1024;
  const LIMIT_2MB_MS = 2_000;
  const fill = (unit: string): string => unit.repeat(Math.floor(MB2 / unit.length));
  const emailsAfterLongToken = (): string => {
    const tail = Array.from({ length: 2000 }, (_, i) => `u${i}@corp.com`).join(',');
    return `${'x'.repeat(MB2 - tail.length - 1)},${tail}`;
  };
  it.each([
    ['-fm2_ (fly.io)', fill('-fm2_')],
    ['-eyJ (jwt)', fill('-eyJ')],
    ['token= (generic api key)', fill('token=')],
    ['+ABSK (bedrock)', fill('+ABSK')],
    ['2000 e-mails after one long token', emailsAfterLongToken()],
  ])('%s', (_name, text) => {
    let best = Infinity;
    for (let i = 0; i < 2 && best >= LIMIT_2MB_MS; i++) {
      const started = performance.now();
      scanText(text, policy);
      best = Math.min(best, performance.now() - started);
    }
    expect(best, `${best.toFixed(0)} ms`).toBeLessThan(LIMIT_2MB_MS);
  });
});
