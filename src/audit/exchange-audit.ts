import type { AuditRecordInput } from '../control/protocol/audit.js';
import type { ExchangeRecord } from '../proxy/exchange.js';
import { auditContent } from './content.js';
import { boundFindings, boundText, MAX_TEXT_FIELD_BYTES } from './record-bounds.js';
import { auditCostUsd, auditDurationMs, auditTokenCount } from './record-numbers.js';

export interface ExchangeAuditContext {
  deviceId: string;
  user?: { sub?: string; email?: string };
  virtualKeyId?: string;
  policyVersion?: number;
  retention: { mode: 'none' | 'digest' | 'full'; maxChars: number };
  usage?: { input_tokens: number; output_tokens: number };
  costUsd?: number;
  /**
   * What Edge charged instead when the provider reported no usage (src/policy/unreported-usage.ts):
   * recorded apart from `usage`, so the record says what the budgets were charged and that Edge
   * estimated it. The outbox leaves it out for an Edge Control that has not announced the field.
   */
  estimatedUsage?: { input_tokens: number; output_tokens: number; costUsd?: number };
}

const DECISIONS: Record<ExchangeRecord['decision'], AuditRecordInput['decision']> = {
  forwarded: 'allowed',
  redacted: 'redacted',
  flagged: 'flagged',
  blocked: 'blocked',
  failed: 'failed',
};

/** A free-text field as the record holds it: a few KiB at most (see record-bounds.ts). */
function text(value: string): string {
  return boundText(value, MAX_TEXT_FIELD_BYTES);
}

/** Edge's estimate as the record holds it: counts and cost brought to what the format accepts, like reported ones. */
function estimatedUsage(estimate: NonNullable<ExchangeAuditContext['estimatedUsage']>): NonNullable<AuditRecordInput['estimated_usage']> {
  const costUsd = estimate.costUsd !== undefined ? auditCostUsd(estimate.costUsd) : undefined;
  return {
    input_tokens: auditTokenCount(estimate.input_tokens),
    output_tokens: auditTokenCount(estimate.output_tokens),
    ...(costUsd !== undefined ? { cost_usd: costUsd } : {}),
  };
}

/** Only the identity fields the audit format has (callers may hold display labels too). */
function auditUser(user: { sub?: string; email?: string }): { sub?: string; email?: string } {
  return { ...(user.sub ? { sub: text(user.sub) } : {}), ...(user.email ? { email: text(user.email) } : {}) };
}

/**
 * The audit record of one proxied exchange: the decision, why, and what was found (types and rule
 * ids only), with the prompt kept as the policy's retention says (nothing, a digest, or the text).
 * Every text is bounded here, before the record is chained, so no request can make a record too large
 * to upload (which would stop the device's audit upload behind it).
 */
export function auditRecordFromExchange(exchange: ExchangeRecord, context: ExchangeAuditContext): AuditRecordInput {
  const content = exchange.prompt !== undefined ? auditContent(exchange.prompt, context.retention) : undefined;
  const latencyMs = auditDurationMs(exchange.latencyMs);
  const costUsd = context.costUsd !== undefined ? auditCostUsd(context.costUsd) : undefined;
  return {
    request_id: exchange.id,
    ts: new Date(Date.now() - latencyMs).toISOString(),
    device_id: context.deviceId,
    ...(context.user && (context.user.sub || context.user.email) ? { user: auditUser(context.user) } : {}),
    ...(context.virtualKeyId ? { virtual_key_id: text(context.virtualKeyId) } : {}),
    app: text(exchange.app ?? 'unknown'),
    host: text(exchange.host || 'unknown'),
    method: text(exchange.method),
    path: text(exchange.path.split('?')[0] ?? exchange.path),
    ...(exchange.provider ? { provider: text(exchange.provider) } : {}),
    ...(exchange.model !== undefined ? { model: exchange.model === null ? null : text(exchange.model) } : {}),
    decision: DECISIONS[exchange.decision],
    ...(exchange.errorType ? { reason: text(exchange.errorType) } : {}),
    ...(exchange.message ? { message: text(exchange.message) } : {}),
    findings: boundFindings(exchange.findings.map((f) => ({ type: f.type, rule_id: f.ruleId, action: f.action, location: f.location }))),
    ...(exchange.status !== undefined ? { status: exchange.status } : {}),
    latency_ms: latencyMs,
    // Figures an upstream reported: brought to what the format accepts, so they never cost the record.
    ...(context.usage ? { usage: { input_tokens: auditTokenCount(context.usage.input_tokens), output_tokens: auditTokenCount(context.usage.output_tokens) } } : {}),
    ...(costUsd !== undefined ? { cost_usd: costUsd } : {}),
    ...(context.estimatedUsage && !context.usage ? { estimated_usage: estimatedUsage(context.estimatedUsage) } : {}),
    ...(content ? { content } : {}),
    ...(context.policyVersion !== undefined ? { policy_version: context.policyVersion } : {}),
  };
}
