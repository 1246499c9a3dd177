/**
 * The request-side decision: scan every text span of a request, look up each finding's action, and decide.
 *   block  > redact > flag > allow   (the strongest action among the findings wins)
 * Block returns a 446 `guardrail_blocked` EdgeError naming finding types, rule ids and JSON paths — never the
 * matched text. Redact returns a deep copy of the body with only the matched spans replaced by
 * `[REDACTED:<type>]`. Warn mode (Bifrost's warn-only, status 246) reports everything as `flag`.
 * Fail closed: a span that cannot be redacted in place (the body no longer holds that text) blocks instead.
 */
import { edgeError, type EdgeError } from '../edge-error.js';
import type { TextSpan } from '../providers/types.js';
import { actionFor, ensureCompiled, type CompiledGuardrailPolicy } from './compile-policy.js';
import type { Finding, FindingType } from './finding.js';
import { formatJsonPath, getAtPath, setAtPath } from './json-path.js';
import type { GuardrailAction } from './policy.js';
import { redactionLabel, redactSpans } from './redact-text.js';
import { scanTextRemembered, scanTextsRemembered } from './scan-cache.js';

export const GUARDRAIL_BLOCK_STATUS = 446;
export const GUARDRAIL_WARN_STATUS = 246;

export type GuardrailDecision = 'allow' | 'block' | 'redact' | 'flag';

/** Where something sensitive was found and what the policy does about it. Never carries the text itself. */
export interface GuardrailFinding {
  type: FindingType;
  ruleId: string;
  path: Array<string | number>;
  start: number;
  end: number;
  confidence: number;
  action: GuardrailAction;
}

export interface GuardrailResult {
  decision: GuardrailDecision;
  findings: GuardrailFinding[];
  /** Present when decision is `redact`: a deep copy of the body with each redacted span replaced. */
  redactedBody?: unknown;
  /** Present when decision is `block`: status 446, type `guardrail_blocked`. */
  blockError?: EdgeError;
  /** Present when decision is `flag`: status 246 (warn-only), for notices and audit; the request goes through. */
  warning?: EdgeError;
  /** True when the text exceeded maxInspectBytes (then findings are empty: nothing was inspected). */
  oversize?: boolean;
  /** UTF-8 bytes of text the request carried. */
  inspectedBytes: number;
}

const MAX_LISTED_FINDINGS = 6;

export function applyGuardrails(texts: TextSpan[], body: unknown, policy: CompiledGuardrailPolicy | unknown): GuardrailResult {
  const compiled = ensureCompiled(policy);
  const bytes = texts.reduce((sum, span) => sum + Buffer.byteLength(span.text, 'utf8'), 0);
  if (!compiled.policy.enabled) return { decision: 'allow', findings: [], inspectedBytes: bytes };
  if (bytes > compiled.policy.maxInspectBytes) return oversizeResult(bytes, compiled);

  const perSpan: GuardrailFinding[][] = findingsPerSpan(texts, compiled).map((found, index) =>
    found.map((f) => ({
      type: f.type,
      ruleId: f.ruleId,
      path: [...texts[index]!.path],
      start: f.start,
      end: f.end,
      confidence: f.confidence,
      action: actionFor(f, compiled),
    })),
  );
  const findings = perSpan.flat();
  const result = { findings, inspectedBytes: bytes };
  if (findings.length === 0) return { decision: 'allow', ...result };
  if (findings.some((f) => f.action === 'block')) {
    return { decision: 'block', ...result, blockError: blockErrorFor(findings.filter((f) => f.action === 'block'), compiled) };
  }
  if (findings.some((f) => f.action === 'redact')) {
    const redacted = redactBody(texts, body, perSpan);
    if (redacted.ok) return { decision: 'redact', ...result, redactedBody: redacted.body };
    return {
      decision: 'block',
      ...result,
      blockError: edgeError(
        GUARDRAIL_BLOCK_STATUS,
        'guardrail_blocked',
        `Request blocked by an Edge guardrail: sensitive data was found in ${redacted.path} but could not be redacted in place. ` +
          'Remove it and try again.',
      ),
    };
  }
  return { decision: 'flag', ...result, warning: warningFor(findings, compiled) };
}

/**
 * What each span holds, remembered per policy (scan-cache.ts): a conversation's earlier messages come back with
 * every turn, and so do an agent's tool definitions, whose spans (a group each) are remembered together.
 */
function findingsPerSpan(texts: TextSpan[], compiled: CompiledGuardrailPolicy): Array<readonly Finding[]> {
  const perSpan: Array<readonly Finding[]> = new Array<readonly Finding[]>(texts.length);
  const groups = new Map<string, number[]>();
  texts.forEach((span, index) => {
    if (span.group === undefined) {
      perSpan[index] = scanTextRemembered(span.text, compiled);
      return;
    }
    const members = groups.get(span.group) ?? [];
    members.push(index);
    groups.set(span.group, members);
  });
  for (const members of groups.values()) {
    const found = scanTextsRemembered(members.map((index) => texts[index]!.text), compiled);
    members.forEach((index, k) => { perSpan[index] = found[k]!; });
  }
  return perSpan;
}

function oversizeResult(bytes: number, compiled: CompiledGuardrailPolicy): GuardrailResult {
  const limit = compiled.policy.maxInspectBytes;
  if (compiled.policy.oversize === 'pass_uninspected') return { decision: 'allow', findings: [], oversize: true, inspectedBytes: bytes };
  const message =
    `Request blocked by an Edge guardrail: its text is ${bytes} bytes, over the ${limit}-byte inspection limit, ` +
    'so it could not be checked for secrets and personal data. Send less text at once, or ask your administrator ' +
    'to raise maxInspectBytes.';
  if (compiled.policy.mode === 'warn') {
    return { decision: 'flag', findings: [], oversize: true, inspectedBytes: bytes, warning: edgeError(GUARDRAIL_WARN_STATUS, 'guardrail_warning', message) };
  }
  return { decision: 'block', findings: [], oversize: true, inspectedBytes: bytes, blockError: edgeError(GUARDRAIL_BLOCK_STATUS, 'guardrail_blocked', message) };
}

function blockErrorFor(blocking: GuardrailFinding[], compiled: CompiledGuardrailPolicy): EdgeError {
  return edgeError(
    GUARDRAIL_BLOCK_STATUS,
    'guardrail_blocked',
    `Request blocked by an Edge guardrail: found ${describeFindings(blocking, compiled)}. ` +
      'Remove the sensitive data (or replace it with a placeholder) and try again; if a credential was pasted, rotate it. ' +
      'Contact your administrator if this is a mistake.',
  );
}

function warningFor(findings: GuardrailFinding[], compiled: CompiledGuardrailPolicy): EdgeError {
  return edgeError(
    GUARDRAIL_WARN_STATUS,
    'guardrail_warning',
    `An Edge guardrail flagged this request (allowed, and recorded): found ${describeFindings(findings, compiled)}.`,
  );
}

/** `secret (aws-access-key-id) in messages[1].content; email (email) in messages[2].content and 3 more` */
export function describeFindings(findings: GuardrailFinding[], compiled?: CompiledGuardrailPolicy): string {
  const groups = new Map<string, { type: string; ruleId: string; paths: string[] }>();
  for (const f of findings) {
    const key = `${f.type}\u0000${f.ruleId}`;
    const group = groups.get(key) ?? { type: f.type, ruleId: f.ruleId, paths: [] };
    const where = formatJsonPath(f.path);
    if (!group.paths.includes(where)) group.paths.push(where);
    groups.set(key, group);
  }
  const parts = [...groups.values()].map((g) => {
    const note = g.type === 'custom' ? compiled?.customRules.find((r) => r.id === g.ruleId)?.message : undefined;
    return `${g.type} (${g.ruleId}${note ? `: ${note}` : ''}) in ${g.paths.join(', ')}`;
  });
  const listed = parts.slice(0, MAX_LISTED_FINDINGS).join('; ');
  return parts.length > MAX_LISTED_FINDINGS ? `${listed} and ${parts.length - MAX_LISTED_FINDINGS} more` : listed;
}

type RedactionOutcome = { ok: true; body: unknown } | { ok: false; path: string };

function redactBody(texts: TextSpan[], body: unknown, perSpan: GuardrailFinding[][]): RedactionOutcome {
  let copy: unknown = structuredClone(body);
  // Several spans may share a path (an adapter can split one string); collect per path, then edit once.
  const byPath = new Map<string, { path: Array<string | number>; spans: Array<{ start: number; end: number; type: string }> }>();
  for (const [index, span] of texts.entries()) {
    const own = (perSpan[index] ?? []).filter((f) => f.action === 'redact');
    if (own.length === 0) continue;
    const key = JSON.stringify(span.path);
    const current = span.path.length === 0 ? copy : getAtPath(copy, span.path);
    const base = typeof current === 'string' ? (current === span.text ? 0 : current.indexOf(span.text)) : -1;
    if (base < 0) return { ok: false, path: formatJsonPath(span.path) };
    const entry = byPath.get(key) ?? { path: span.path, spans: [] };
    for (const f of own) entry.spans.push({ start: base + f.start, end: base + f.end, type: redactionLabel(f) });
    byPath.set(key, entry);
  }
  for (const { path, spans } of byPath.values()) {
    if (path.length === 0) {
      copy = redactSpans(copy as string, spans);
      continue;
    }
    const current = getAtPath(copy, path) as string;
    if (!setAtPath(copy, path, redactSpans(current, spans))) return { ok: false, path: formatJsonPath(path) };
  }
  return { ok: true, body: copy };
}
