import type { Notice } from './agent-status.js';

/**
 * Turns an agent notice into an OS notification a person understands at a glance: the title says what
 * happened in a few words ("Blocked: gpt-4o is not allowed"), the body says why and what to do next
 * (the agent's messages already end with advice such as "Ask your admin, or pick an allowed model.").
 */

export interface NotificationText {
  title: string;
  body: string;
}

/** macOS shows about four lines, Windows about three; longer bodies are cut by the OS mid-word. */
export const MAX_BODY_LENGTH = 240;

const LIMIT_TYPES = new Set(['rate_limited', 'request_limited', 'token_limited']);
/** Kinds where "(4 times)" tells the person something: their requests keep being refused. */
const COUNTED_KINDS = new Set<Notice['kind']>(['blocked', 'sign_in_required', 'fail_closed']);

export function noticeToNotification(notice: Notice): NotificationText {
  const title = titleFor(notice);
  const repeats = notice.count > 1 && COUNTED_KINDS.has(notice.kind) ? ` (${notice.count} times)` : '';
  const app = notice.who.app ? `${notice.who.app}: ` : '';
  return { title: `${title}${repeats}`, body: clip(`${app}${bodyFor(notice)}`, MAX_BODY_LENGTH) };
}

function titleFor(notice: Notice): string {
  const { what, why } = notice;
  switch (notice.kind) {
    case 'blocked':
      return blockedTitle(why.errorType, what);
    case 'sign_in_required':
      return 'Blocked: sign in to Bifrost Edge';
    case 'fail_closed':
      return 'AI requests stopped';
    case 'fail_open':
      return /edge control/i.test(why.message) ? 'Edge Control unreachable' : 'Bifrost gateway unreachable';
    case 'budget_alert': {
      const percent = /^budget_(\d+)$/.exec(why.errorType ?? '')?.[1];
      return percent ? `Budget ${percent}% used` : 'Budget alert';
    }
    case 'app_pending':
      return `${notice.who.app ?? 'An app'} is not yet reviewed`;
    case 'shadow_ai':
      return `Unmanaged AI service: ${what.host ?? 'unknown host'}`;
  }
}

function blockedTitle(errorType: string | undefined, what: Notice['what']): string {
  if (errorType === 'model_blocked' && what.model) return `Blocked: ${what.model} is not allowed`;
  if (errorType === 'provider_blocked' && what.provider) return `Blocked: ${what.provider} is not allowed`;
  if (errorType === 'mcp_tool_blocked') return 'Blocked: MCP tool not allowed';
  if (errorType !== undefined && LIMIT_TYPES.has(errorType)) return 'Blocked: rate limit reached';
  if (errorType === 'budget_exceeded') return 'Blocked: budget used up';
  if (errorType === 'virtual_key_blocked') return 'Blocked: your key is switched off';
  if (errorType === 'virtual_key_required' || errorType === 'virtual_key_not_found') return 'Blocked: no usable virtual key';
  if (errorType === 'app_blocked') return 'Blocked: app not allowed';
  if (errorType === 'gateway_unreachable') return 'AI requests stopped';
  return 'Blocked by your AI policy';
}

function bodyFor(notice: Notice): string {
  // Fail-open reasons are written for the audit trail; say what they mean for the person instead.
  if (notice.kind === 'fail_open') {
    return /edge control/i.test(notice.why.message)
      ? 'Bifrost Edge cannot reach Edge Control and keeps enforcing your last policy. Your AI apps keep working.'
      : 'Bifrost Edge cannot reach your Bifrost gateway, so AI requests go straight to the providers, still checked on this device.';
  }
  return notice.why.message;
}

/** Cuts at a word boundary and marks the cut, so a body never ends mid-word. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '')}…`;
}
