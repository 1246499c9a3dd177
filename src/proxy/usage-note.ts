import type { UsageCharge } from '../policy/enforcer.js';
import type { UsageNote } from './exchange.js';

/** A policy charge as the audit record states it: token counts under the gateway's snake_case names. */
export function usageNote(charge: UsageCharge): UsageNote;
export function usageNote(charge: UsageCharge | undefined): UsageNote | undefined;
export function usageNote(charge: UsageCharge | undefined): UsageNote | undefined {
  return charge && { usage: { input_tokens: charge.usage.inputTokens, output_tokens: charge.usage.outputTokens }, costUsd: charge.costUsd };
}

/**
 * A request the policy follows (PolicyEnforcer.follow), as the proxy takes it: the estimate charged for one the
 * client abandoned comes as a UsageNote, which the proxy writes into the exchange's audit record as it is.
 */
export function followedForProxy(followed: { sent(): void; abandoned(): UsageCharge | undefined }): { sent(): void; abandoned(): UsageNote | undefined } {
  return { sent: () => followed.sent(), abandoned: () => usageNote(followed.abandoned()) };
}
