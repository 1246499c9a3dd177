import { edgeError } from '../../edge-error.js';
import type { CompiledGuardrailPolicy } from '../../guardrails/compile-policy.js';
import type { ModerationClient } from '../../gateway/moderation-client.js';
import type { RequestInspector } from '../surface-resolution.js';
import type { NormalizedRequest } from '../../providers/types.js';
import { conversationTexts } from '../../providers/conversation-texts.js';

export interface ContentSafetyDeps {
  policy: () => CompiledGuardrailPolicy;
  /** Undefined without a gateway: then content safety cannot run and the fail mode decides. */
  moderation: ModerationClient | undefined;
  /** The key the request will be sent with (the moderation call is charged to the same key). */
  virtualKey: (request: NormalizedRequest) => string | undefined;
  failMode: () => 'open' | 'closed';
}

/**
 * Content safety as a decision step, delegated to the gateway's moderation model when the guardrail
 * policy names one. A score at or above the threshold blocks (446, like every guardrail block); no
 * answer from the gateway blocks when the policy fails closed and is flagged when it fails open.
 */
export function contentSafetyInspector(deps: ContentSafetyDeps): RequestInspector {
  return async ({ request }) => {
    const settings = deps.policy().policy.contentSafety;
    const texts = conversationTexts(request.texts).filter((t) => t.trim() !== '');
    if (!settings || texts.length === 0) return { action: 'allow' };
    try {
      if (!deps.moderation) throw new Error('no gateway is configured');
      const verdict = await deps.moderation.moderate(cap(texts, deps.policy().policy.maxInspectBytes), settings.model, deps.virtualKey(request));
      if (verdict.score >= settings.threshold) {
        return {
          action: 'block',
          error: edgeError(446, 'content_safety_blocked',
            `Your organization's content-safety check (${settings.model}) flagged this request as ${verdict.category} (score ${verdict.score.toFixed(2)}, limit ${settings.threshold}). Rephrase it, or ask your admin if this is wrong.`,
            { provider: request.provider, ...(request.model ? { model: request.model } : {}) }),
          notes: { findings: [{ type: 'content_safety', ruleId: verdict.category, action: 'block', location: 'request' }] },
        };
      }
      return { action: 'allow' };
    } catch (err) {
      const why = (err as Error).message;
      if (deps.failMode() === 'closed') {
        return { action: 'block', error: edgeError(503, 'content_safety_unavailable', `The content-safety check could not run (${why}), and your organization's policy refuses AI requests without it. Try again shortly.`, { provider: request.provider }) };
      }
      return { action: 'allow', notes: { flagged: true, findings: [{ type: 'content_safety', ruleId: 'unavailable', action: 'flag', location: 'request' }] } };
    }
  };
}

/** Keeps the moderation input within the guardrail size bound, cutting the last text if needed. */
function cap(texts: string[], maxBytes: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const text of texts) {
    const bytes = Buffer.byteLength(text);
    if (used + bytes > maxBytes) {
      out.push(Buffer.from(text).subarray(0, Math.max(0, maxBytes - used)).toString('utf8'));
      break;
    }
    out.push(text);
    used += bytes;
  }
  return out;
}
