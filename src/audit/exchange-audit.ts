import type { AuditRecordInput } from '../control/protocol/audit.js';
import type { ExchangeRecord } from '../proxy/exchange.js';
import { auditContent } from './content.js';

export interface ExchangeAuditContext {
  deviceId: string;
  user?: { sub?: string; email?: string };
  virtualKeyId?: string;
  policyVersion?: number;
  retention: { mode: 'none' | 'digest' | 'full'; maxChars: number };
  usage?: { input_tokens: number; output_tokens: number };
  costUsd?: number;
}

const DECISIONS: Record<ExchangeRecord['decision'], AuditRecordInput['decision']> = {
  forwarded: 'allowed',
  redacted: 'redacted',
  flagged: 'flagged',
  blocked: 'blocked',
  failed: 'failed',
};

/** Only the identity fields the audit format has (callers may hold display labels too). */
function auditUser(user: { sub?: string; email?: string }): { sub?: string; email?: string } {
  return { ...(user.sub ? { sub: user.sub } : {}), ...(user.email ? { email: user.email } : {}) };
}

/**
 * The audit record of one proxied exchange: the decision, why, and what was found (types and rule
 * ids only), with the prompt kept as the policy's retention says (nothing, a digest, or the text).
 */
export function auditRecordFromExchange(exchange: ExchangeRecord, context: ExchangeAuditContext): AuditRecordInput {
  const content = exchange.prompt !== undefined ? auditContent(exchange.prompt, context.retention) : undefined;
  return {
    request_id: exchange.id,
    ts: new Date(Date.now() - exchange.latencyMs).toISOString(),
    device_id: context.deviceId,
    ...(context.user && (context.user.sub || context.user.email) ? { user: auditUser(context.user) } : {}),
    ...(context.virtualKeyId ? { virtual_key_id: context.virtualKeyId } : {}),
    app: exchange.app ?? 'unknown',
    host: exchange.host || 'unknown',
    method: exchange.method,
    path: exchange.path.split('?')[0] ?? exchange.path,
    ...(exchange.provider ? { provider: exchange.provider } : {}),
    ...(exchange.model !== undefined ? { model: exchange.model } : {}),
    decision: DECISIONS[exchange.decision],
    ...(exchange.errorType ? { reason: exchange.errorType } : {}),
    ...(exchange.message ? { message: exchange.message } : {}),
    findings: exchange.findings.map((f) => ({ type: f.type, rule_id: f.ruleId, action: f.action, location: f.location })),
    ...(exchange.status !== undefined ? { status: exchange.status } : {}),
    latency_ms: exchange.latencyMs,
    ...(context.usage ? { usage: context.usage } : {}),
    ...(context.costUsd !== undefined ? { cost_usd: context.costUsd } : {}),
    ...(content ? { content } : {}),
    ...(context.policyVersion !== undefined ? { policy_version: context.policyVersion } : {}),
  };
}
