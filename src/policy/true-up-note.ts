import type { TrueUpNote } from './background-charging.js';
import { formatUsd } from './limits.js';

/**
 * How the audit record of a true-up (background-true-ups.ts) says what it is. Its usage is the work's whole usage as
 * now known, not an amount of its own: the work's earlier record was charged the estimate, so whoever sums records
 * must tell the correction apart (by this error type) or count the work twice.
 */
export const TRUE_UP_ERROR_TYPE = 'background_true_up';

/** "true-up of resp_1: 2,100 tokens ($0.0013) charged before as an estimate; difference -1,440 tokens (-$0.0009)". */
export function trueUpMessage(id: string, note: TrueUpNote): string {
  const before = `${tokens(note.before.usage.totalTokens)} ($${usd(note.before.costUsd)})`;
  const difference = `${tokens(note.difference.totalTokens)} (${note.difference.costUsd < 0 ? '-' : ''}$${usd(Math.abs(note.difference.costUsd))})`;
  const kept = note.refundedInFull ? '' : ', part not given back: its window had rolled over';
  const gone = note.windowsGone.length > 0 ? `; not corrected in ${note.windowsGone.length} window(s) the policy no longer has: ${note.windowsGone.join(', ')}` : '';
  return `true-up of ${id}: ${before} charged before as an estimate; difference ${difference}${kept}${gone}`;
}

function tokens(count: number): string {
  return `${Math.round(count).toLocaleString('en-US')} tokens`;
}

/** formatUsd without its sign: the sign goes before the "$". */
function usd(amount: number): string {
  return formatUsd(amount).slice(1);
}
