// Pure formatting for the Bifrost Edge pages: no DOM, so the same module runs in the browser and in
// Node tests. Plain ES module (the agent serves these files as they are; there is no build step).

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Bifrost reset durations (`1h`, `1d`, `1M`) in words, for "per day" / "per 5 minutes". */
const UNIT_NAMES = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', Y: 'year' };

/** `1d` → "day", `5m` → "5 minutes"; anything else unchanged. */
export function describeDuration(text) {
  const match = /^\s*(\d+)([smhdwMY])\s*$/.exec(String(text));
  if (!match) return String(text);
  const count = Number(match[1]);
  const unit = UNIT_NAMES[match[2]];
  return count === 1 ? unit : `${count} ${unit}s`;
}

/** A short span: 45s, 12 min, 5 h 12 min, 3 d 4 h. */
export function formatSpan(ms) {
  const s = Math.max(0, Math.round(ms / SECOND));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" between an ISO time and `nowMs`. */
export function formatAgo(iso, nowMs) {
  const ms = nowMs - Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  if (ms < 10 * SECOND) return 'just now';
  if (ms < MINUTE) return `${Math.round(ms / SECOND)}s ago`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ago`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ago`;
  return `${Math.floor(ms / DAY)} d ago`;
}

/** "$2.50"; tiny amounts keep their digits ("$0.0004") so usage never shows as "$0.00". */
export function formatUsd(amount) {
  if (amount !== 0 && Math.abs(amount) < 0.01) return `$${amount.toFixed(4)}`;
  return `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Whole percent, never rounded up to 100 before the limit is actually reached. */
export function percent(fraction) {
  return Math.floor(Math.max(0, fraction) * 100 + 1e-9);
}

/** How full a bar is: ok below 80 %, warn below 100 %, full at or past the limit. */
export function usageLevel(fraction) {
  if (fraction >= 1) return 'full';
  if (fraction >= 0.8) return 'warn';
  return 'ok';
}

export function formatCount(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** `provider/model`, or whichever of the two is known. */
export function providerModel(provider, model) {
  return [provider, model].filter((part) => part !== undefined && part !== null && part !== '').join(' / ');
}

export function formatLatency(ms) {
  if (typeof ms !== 'number' || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** What each activity decision means, in words a person reads in the table. */
export const DECISIONS = {
  forwarded: { label: 'Allowed', help: 'Sent on unchanged.' },
  redacted: { label: 'Redacted', help: 'Sent with sensitive text replaced.' },
  flagged: { label: 'Flagged', help: 'Sent, and recorded for review.' },
  blocked: { label: 'Blocked', help: 'Not sent: refused by your policy.' },
  failed: { label: 'Failed', help: 'Could not be completed.' },
};

export function decisionLabel(decision) {
  return DECISIONS[decision]?.label ?? String(decision);
}

/** Finding types without repeats, in the order first found: "aws_access_key, email". */
export function findingTypes(findings) {
  return [...new Set((findings ?? []).map((f) => f.type))];
}

/** The heading of the notice page for a notice. */
export function noticeHeading(notice) {
  switch (notice.kind) {
    case 'blocked':
    case 'sign_in_required':
    case 'fail_closed':
      return 'Request blocked';
    case 'budget_alert':
      return 'Budget alert';
    case 'fail_open':
      return 'Working without the gateway';
    case 'app_pending':
      return 'App reported to your admin';
    case 'shadow_ai':
      return 'Unmanaged AI service noticed';
    default:
      return 'Notice';
  }
}

const LIMIT_TYPES = new Set(['rate_limited', 'request_limited', 'token_limited']);

/**
 * What the person can do about a notice, most useful first. The agent's message already says why; these
 * steps are the practical follow-up (and what to tell the helpdesk).
 */
export function nextSteps(notice) {
  const type = notice.why?.errorType;
  const model = notice.what?.model;
  const steps = [];
  if (notice.kind === 'sign_in_required' || type === 'virtual_key_required') {
    steps.push('Sign in from the Bifrost Edge icon in the menu bar or system tray, then try again.');
  } else if (type === 'model_blocked') {
    steps.push(`Choose one of the allowed models in your app's settings${model ? ` instead of ${model}` : ''}.`);
    steps.push(`If you need ${model ?? 'this model'} for your work, ask your admin to allow it for your key.`);
  } else if (type === 'provider_blocked') {
    steps.push('Switch your app to a provider your key allows.');
    steps.push('If you need this provider, ask your admin to add it to your key.');
  } else if (type === 'mcp_tool_blocked') {
    steps.push('Use the tool without the AI assistant, or ask your admin to allow it for your key.');
  } else if (LIMIT_TYPES.has(type)) {
    steps.push('Wait until the limit resets (the status page shows when), then try again.');
    steps.push('If the limit is too low for your work, ask your admin to raise it.');
  } else if (type === 'budget_exceeded' || notice.kind === 'budget_alert') {
    steps.push('Check your remaining budget on the status page.');
    steps.push('If you need more, ask your admin to raise your budget.');
  } else if (type === 'virtual_key_blocked' || type === 'virtual_key_not_found') {
    steps.push('Ask your admin to re-activate your virtual key or to issue you a new one.');
  } else if (type === 'gateway_unreachable' || notice.kind === 'fail_closed') {
    steps.push('Check your network connection (VPN), then try again in a few minutes.');
  } else if (type === 'app_blocked' || notice.kind === 'app_pending') {
    steps.push('Use an app your organization has approved, or ask your admin to review this one.');
  } else if (notice.kind === 'shadow_ai') {
    steps.push('Prefer the AI tools your organization provides; ask your admin if you need this service.');
  }
  steps.push(`If this seems wrong, contact your IT helpdesk and give them this reference: ${notice.id}.`);
  return steps;
}

/**
 * When an activity record's request started, as an ISO string, if the agent reported it (`at`, or
 * `startedAt` as ISO or epoch milliseconds); undefined otherwise.
 */
export function recordTime(record) {
  for (const value of [record.at, record.startedAt, record.time]) {
    if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  }
  return undefined;
}
