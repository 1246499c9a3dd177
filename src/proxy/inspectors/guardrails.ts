import { applyGuardrails } from '../../guardrails/apply-guardrails.js';
import type { CompiledGuardrailPolicy } from '../../guardrails/compile-policy.js';
import type { InspectionNotes, RequestInspector } from '../surface-resolution.js';

/**
 * The guardrails as a proxy decision step: block (446 in the provider's format), redact the
 * spans and forward, or flag and forward. Reads the policy on every request so a new one from
 * the control plane applies to the next request.
 */
export function guardrailInspector(currentPolicy: () => CompiledGuardrailPolicy): RequestInspector {
  return ({ request, body }) => {
    const result = applyGuardrails(request.texts, body, currentPolicy());
    const findings: NonNullable<InspectionNotes['findings']> = result.findings.map((f) => ({ type: f.type, ruleId: f.ruleId, action: f.action, location: jsonPathLabel(f.path) }));
    // Over the size bound and let through: the record says it went uninspected.
    if (result.oversize && result.decision !== 'block') findings.push({ type: 'oversize', ruleId: 'uninspected', action: 'flag', location: 'request' });
    const notes: InspectionNotes = { findings, flagged: result.decision === 'flag' || (result.oversize === true && result.decision !== 'block') };
    if (result.decision === 'block' && result.blockError) return { action: 'block', error: result.blockError, notes };
    if (result.decision === 'redact' && result.redactedBody !== undefined) return { action: 'rewrite', body: result.redactedBody, notes };
    return { action: 'allow', notes };
  };
}

/** ['messages', 1, 'content'] → `messages[1].content`, the way people read JSON paths. */
export function jsonPathLabel(path: Array<string | number>): string {
  return path.reduce<string>((label, key) => (typeof key === 'number' ? `${label}[${key}]` : label ? `${label}.${key}` : key), '');
}
