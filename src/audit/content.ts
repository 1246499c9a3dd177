import { hash } from 'node:crypto';
import type { AuditRecord } from '../control/protocol/audit.js';
import { cutText, MAX_CONTENT_TEXT_BYTES } from './record-bounds.js';

export interface ContentRetention {
  /** none: metadata only; digest: SHA-256 of the prompt; full: the prompt text up to maxChars (and MAX_CONTENT_TEXT_BYTES). */
  mode: 'none' | 'digest' | 'full';
  maxChars: number;
}

/**
 * The `content` member of an audit record for a prompt, per the policy's content_retention. Callers
 * must pass the text *after* redaction when a guardrail redacted it, so a secret never reaches the
 * audit trail. Returns undefined for `none`. Full text stops at maxChars characters and, whatever the
 * policy says, at MAX_CONTENT_TEXT_BYTES, so the record stays small enough to upload; `truncated` tells.
 */
export function auditContent(promptText: string, retention: ContentRetention): AuditRecord['content'] {
  if (retention.mode === 'none') return undefined;
  if (retention.mode === 'digest') return { mode: 'digest', sha256: hash('sha256', promptText, 'hex') };
  // Both limits keep a prefix; the byte cut first, so a huge prompt is never split into characters whole.
  const bounded = cutText(promptText, MAX_CONTENT_TEXT_BYTES);
  const chars = Array.from(bounded.text);
  const overChars = chars.length > retention.maxChars;
  return { mode: 'full', text: overChars ? chars.slice(0, retention.maxChars).join('') : bounded.text, truncated: bounded.cut || overChars };
}
