import { hash } from 'node:crypto';
import type { AuditRecord } from '../control/protocol/audit.js';

export interface ContentRetention {
  /** none: metadata only; digest: SHA-256 of the prompt; full: the prompt text up to maxChars. */
  mode: 'none' | 'digest' | 'full';
  maxChars: number;
}

/**
 * The `content` member of an audit record for a prompt, per the policy's content_retention. Callers
 * must pass the text *after* redaction when a guardrail redacted it, so a secret never reaches the
 * audit trail. Returns undefined for `none`.
 */
export function auditContent(promptText: string, retention: ContentRetention): AuditRecord['content'] {
  if (retention.mode === 'none') return undefined;
  if (retention.mode === 'digest') return { mode: 'digest', sha256: hash('sha256', promptText, 'hex') };
  const chars = Array.from(promptText);
  const truncated = chars.length > retention.maxChars;
  return { mode: 'full', text: truncated ? chars.slice(0, retention.maxChars).join('') : promptText, truncated };
}
