/**
 * The numbers of an audit record as the audit format accepts them. Token counts and costs come from
 * what an upstream answered (src/policy/usage.ts takes any non-negative finite number), and a figure
 * the format refuses (`prompt_tokens: 10.5`, a count so large that a cost overflows to Infinity) used
 * to make the whole record invalid: the answer went out unrecorded (fail open) or was cut off (fail
 * closed). A reported figure must never cost the record, so each is brought to the nearest valid one.
 */

/** A whole, non-negative, exactly representable token count: rounded, then clamped (NaN counts as 0). */
export function auditTokenCount(value: number): number {
  if (Number.isNaN(value) || value <= 0) return 0;
  return Math.min(Math.round(value), Number.MAX_SAFE_INTEGER);
}

/** A finite, non-negative cost; undefined when it is not a number at all (unknown, rather than made up). */
export function auditCostUsd(value: number): number | undefined {
  if (Number.isNaN(value)) return undefined;
  return Math.min(Math.max(value, 0), Number.MAX_VALUE);
}

/** A non-negative duration: a wall clock stepping back during an exchange makes Date.now() differences negative. */
export function auditDurationMs(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
