import type { AuditRecord } from '../control/protocol/audit.js';
import { rowBytes } from './capacity.js';
import { recordJson } from './chain.js';
import { MAX_CONTENT_TEXT_BYTES, MAX_FINDING_FIELD_BYTES, MAX_FINDINGS, MAX_TEXT_FIELD_BYTES } from './record-bounds.js';

/**
 * The largest record Edge can write, built from the bounds in record-bounds.ts (every text at its bound,
 * MAX_FINDINGS findings, a fully retained prompt, the widest numbers) rather than estimated: a cap
 * (audit.maxBytes) below it would refuse such records one by one, each request they audit included.
 * Every free text counts at the top-level bound, also the ones Edge fills itself: an upper bound.
 */
function largestRecord(): AuditRecord {
  const text = 'x'.repeat(MAX_TEXT_FIELD_BYTES);
  const findingText = 'x'.repeat(MAX_FINDING_FIELD_BYTES);
  const count = Number.MAX_SAFE_INTEGER;
  // 17 significant digits and a three-digit exponent: as long as a non-negative double prints in JSON.
  const amount = 1.2345678901234568e-300;
  return {
    request_id: text, ts: text, device_id: text, user: { sub: text, email: text }, virtual_key_id: text,
    app: text, host: text, method: text, path: text, provider: text, model: text,
    decision: 'redacted', reason: text, message: text,
    findings: Array.from({ length: MAX_FINDINGS }, () => ({ type: findingText, rule_id: findingText, action: 'redact' as const, location: findingText })),
    status: count, latency_ms: amount,
    usage: { input_tokens: count, output_tokens: count }, cost_usd: amount,
    estimated_usage: { input_tokens: count, output_tokens: count, cost_usd: amount },
    content: { mode: 'full', text: 'x'.repeat(MAX_CONTENT_TEXT_BYTES), truncated: false },
    policy_version: count,
  };
}

/** What the largest possible record counts against audit.maxBytes (its JSON text and the per-row overhead). */
export const LARGEST_RECORD_ROW_BYTES = rowBytes(Buffer.byteLength(recordJson(largestRecord())));
