import { describeDuration, formatSpan } from './durations.js';
import { formatUsd } from './limits.js';
import type { BudgetStatus, PolicyStatus, RateLimitStatus } from './status-data.js';

/**
 * `bifrost-edge status`: the policy part as human text or as JSON (`--json`, the PolicyStatus object
 * unchanged, for scripts and MDM inventory). Pure; relative times are computed from `generatedAt`.
 */
export function formatStatus(status: PolicyStatus, options: { json: boolean }): string {
  if (options.json) return `${JSON.stringify(status, null, 2)}\n`;
  const nowMs = Date.parse(status.generatedAt);
  const lines: string[] = ['Bifrost Edge status'];
  const field = (label: string, value: string) => lines.push(`  ${`${label}:`.padEnd(14)}${value}`);

  field('Signed in', signedIn(status));
  field('Active key', activeKey(status));
  field('Policy', policy(status));
  field('Connectivity', `gateway ${status.connectivity.gateway ? 'reachable' : 'UNREACHABLE'}, Edge Control ${edgeControl(status)}`);
  // Why Edge Control is unreachable, not confirmed yet, or refuses this device, under the line that says so.
  if (status.connectivity.controlPlaneProblem) lines.push(`${' '.repeat(16)}${status.connectivity.controlPlaneProblem}`);
  if (status.connectivity.auditQueue === false) field('Audit queue', auditQueue(status));

  if (status.budgets.length > 0) {
    lines.push('', 'Budgets');
    for (const b of status.budgets) lines.push(`  ${scope(b.provider)}${budgetLine(b, nowMs)}`);
  }
  if (status.rateLimits.length > 0) {
    lines.push('', 'Rate limits');
    for (const r of status.rateLimits) lines.push(`  ${scope(r.provider)}${rateLine(r, nowMs)}`);
  }

  lines.push('', 'Last blocks');
  if (status.lastBlocks.length === 0) lines.push('  none');
  for (const block of status.lastBlocks) {
    const what = [block.provider, block.model].filter(Boolean).join('/');
    const times = block.count > 1 ? ` ×${block.count}` : '';
    lines.push(`  ${shortTime(block.when)}  ${[block.app, what, block.errorType].filter(Boolean).join('  ')}${times}`);
    lines.push(`      ${block.message}`);
  }

  if (status.shadowAi.length > 0) {
    lines.push('', 'Shadow AI (not covered by policy)');
    for (const s of status.shadowAi) {
      lines.push(`  ${s.kind.padEnd(5)} ${s.name}  seen ${s.count} time${s.count === 1 ? '' : 's'}, last ${shortTime(s.lastSeen)}${s.detail ? ` (${s.detail})` : ''}`);
    }
  }
  if (status.problems.length > 0) {
    lines.push('', 'Policy problems');
    for (const p of status.problems) lines.push(`  - ${p}`);
  }
  return `${lines.join('\n')}\n`;
}

function signedIn(status: PolicyStatus): string {
  const { user } = status;
  if (!user.signedIn) return 'no — run `bifrost-edge login` or use the tray icon to sign in';
  const who = [user.name, user.email && user.email !== user.name ? `<${user.email}>` : undefined].filter(Boolean).join(' ');
  return who ? `yes, as ${who}` : 'yes';
}

function edgeControl(status: PolicyStatus): string {
  const { controlPlane, controlPlaneConfigured, controlPlaneConfirmed, controlPlaneProblem } = status.connectivity;
  if (controlPlaneConfigured === false) return 'not configured';
  if (!controlPlane) return 'UNREACHABLE';
  // Reachable by the three-failures rule, but silent since the start: the cached policy is not confirmed.
  if (controlPlaneConfirmed === false) {
    const failClosed = status.policy?.failMode === 'closed';
    return controlPlaneProblem === undefined
      ? `confirming the policy (no answer yet since Edge started${failClosed ? '; fail-closed, so AI requests wait for it' : ''})`
      : `NOT CONFIRMED (no answer since Edge started${failClosed ? '; fail-closed, so AI requests are refused' : ''})`;
  }
  return 'reachable';
}

/** Only while the audit queue refuses records: why, what it means for requests, and what to do. */
function auditQueue(status: PolicyStatus): string {
  const problem = status.connectivity.auditQueueProblem;
  const effect = status.policy?.failMode === 'closed' ? 'fail-closed, so AI requests are refused' : 'AI requests are answered without audit records';
  if (!problem) return `FULL (${effect})`;
  if (problem.kind === 'unwritable') return `CANNOT BE WRITTEN: ${problem.reason} (${effect}). Free disk space on this device; Edge tries again by itself.`;
  return `FULL of records ${problem.waitingFor} has not acknowledged (${effect}). ${problem.remedy}.`;
}

function activeKey(status: PolicyStatus): string {
  const key = status.activeKey;
  if (!key) return status.keyProblem ?? (status.policy ? 'none' : 'none (no policy received yet)');
  const state = key.state === 'usable' ? 'active' : key.state === 'inactive' ? 'INACTIVE (requests are refused)' : 'EXPIRED (requests are refused)';
  const expires = key.expiresAt && key.state === 'usable' ? `, expires ${shortTime(key.expiresAt)}` : '';
  return `${key.name} (${key.id}), ${state}${expires}`;
}

function policy(status: PolicyStatus): string {
  const p = status.policy;
  if (!p) return 'none received yet';
  return `v${p.version}, issued ${formatSpan(p.ageSeconds * 1000)} ago (${shortTime(p.issuedAt)}), fail-${p.failMode}, routing ${p.routing}`;
}

function scope(provider: string | undefined): string {
  return (provider ?? 'key').padEnd(12);
}

function budgetLine(b: BudgetStatus, nowMs: number): string {
  const percent = `${Math.floor(b.fraction * 100 + 1e-9)}%`;
  return `${formatUsd(b.usedUsd)} of ${formatUsd(b.maxUsd)} per ${describeDuration(b.resetDuration)} (${percent})${resets(b.resetsAt, nowMs)}`;
}

function rateLine(r: RateLimitStatus, nowMs: number): string {
  return `${Math.round(r.used).toLocaleString('en-US')} of ${r.max.toLocaleString('en-US')} ${r.metric} per ${describeDuration(r.resetDuration)}${resets(r.resetsAt, nowMs)}`;
}

function resets(at: string | undefined, nowMs: number): string {
  return at ? `, resets in ${formatSpan(Date.parse(at) - nowMs)}` : '';
}

/** `2025-06-01T14:02:11.123Z` → `2025-06-01 14:02 UTC`. */
function shortTime(iso: string): string {
  const ms = Date.parse(iso);
  const match = Number.isNaN(ms) ? null : /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(new Date(ms).toISOString());
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}
