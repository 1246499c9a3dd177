import type { InspectionResult } from '../../src/proxy/surface-resolution.js';

/**
 * A verdict the inspector gave at once. It holds a request (a promise) only on a fail-closed device waiting for
 * Edge Control's first answer; a test that expects a decision at once fails here, saying so, rather than
 * reading `.action` off a promise.
 */
export function decidedAtOnce(verdict: InspectionResult | Promise<InspectionResult>): InspectionResult {
  if (verdict instanceof Promise) throw new Error('the inspector held this request instead of deciding it at once');
  return verdict;
}
