import { clockTime } from './clock-time.js';
import type { AgentStatus, AuditQueueSignal } from './agent-status.js';
import { assessHealth } from './tray-health.js';

/**
 * The tray icon, its tooltip and its menu as plain data, decided from what the agent reports. The
 * Electron shell (main/) only turns this into a Tray and a Menu, so every decision is tested here.
 *
 * "Pause protection" is offered only when `pauseAllowed` is true. Pausing would let AI traffic leave
 * this laptop ungoverned, so it must be a grant the organization gives explicitly in policy; the policy
 * bundle has no such grant today, so the shell passes false and the item never appears.
 */

export type TrayIcon = 'ok' | 'attention' | 'blocked' | 'off';

export type TrayAction = 'open-status' | 'open-activity' | 'sign-in' | 'sign-out' | 'pause' | 'quit';

export type MenuItemModel =
  /** A line of information, shown greyed out. */
  | { kind: 'info'; id: string; label: string }
  | { kind: 'action'; id: TrayAction; label: string; enabled: boolean }
  | { kind: 'separator' };

export interface TrayModelInput {
  /** The agent's `/status.json`, or undefined when it did not answer. */
  status: AgentStatus | undefined;
  reachable: boolean;
  /** Whether this person has an OIDC session on the device. */
  signedIn: boolean;
  /** Whether IT configured sign-in (`auth` in the managed config); without it there is nothing to sign in to. */
  signInAvailable?: boolean;
  /** Display name of the signed-in person, from their session (else the policy's subject is shown). */
  user?: string;
  auditQueue?: AuditQueueSignal;
  /** The organization explicitly lets this person pause protection (see the module comment). */
  pauseAllowed?: boolean;
  /** The agent could not start; shown instead of "not responding". */
  startError?: string;
}

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: MenuItemModel[];
}

/** Windows truncates tray tooltips longer than 127 characters; keep every platform's the same. */
export const MAX_TOOLTIP_LENGTH = 127;
/** Issues listed in the menu; the status page shows the rest. */
const MAX_ISSUE_LINES = 3;

export function trayModel(input: TrayModelInput): TrayModel {
  const issues = assessHealth(input);
  const worst = issues[0];
  const icon: TrayIcon = worst ? worst.severity : 'ok';
  const headline = worst?.message ?? okHeadline(input.status);
  const running = icon !== 'off';

  const menu: MenuItemModel[] = [{ kind: 'info', id: 'status', label: headline }];
  for (const [i, issue] of issues.slice(1, MAX_ISSUE_LINES).entries()) menu.push({ kind: 'info', id: `issue-${i + 1}`, label: issue.message });
  if (issues.length > MAX_ISSUE_LINES) menu.push({ kind: 'info', id: 'issues-more', label: `…and ${issues.length - MAX_ISSUE_LINES} more (see status)` });
  if (running) {
    menu.push({ kind: 'info', id: 'user', label: userLine(input) });
    menu.push({ kind: 'info', id: 'policy', label: policyLine(input.status) });
  }
  menu.push({ kind: 'separator' });
  menu.push({ kind: 'action', id: 'open-status', label: 'Open status…', enabled: running });
  menu.push({ kind: 'action', id: 'open-activity', label: 'Recent activity…', enabled: running });
  const accountItems: MenuItemModel[] = [];
  if (input.signInAvailable) {
    accountItems.push(input.signedIn
      ? { kind: 'action', id: 'sign-out', label: 'Sign out', enabled: true }
      : { kind: 'action', id: 'sign-in', label: 'Sign in…', enabled: true });
  }
  if (input.pauseAllowed && running) accountItems.push({ kind: 'action', id: 'pause', label: 'Pause protection', enabled: true });
  if (accountItems.length > 0) menu.push({ kind: 'separator' }, ...accountItems);
  menu.push({ kind: 'separator' });
  menu.push({ kind: 'action', id: 'quit', label: 'Quit Bifrost Edge', enabled: true });

  return { icon, tooltip: truncate(`Bifrost Edge: ${headline}`, MAX_TOOLTIP_LENGTH), menu };
}

function okHeadline(status: AgentStatus | undefined): string {
  if (status?.mode === 'local') return 'Protecting AI traffic (local mode)';
  return 'Protecting AI traffic';
}

function userLine(input: TrayModelInput): string {
  const user = input.status?.policy.user;
  const who = input.user ?? user?.email ?? user?.name;
  const key = input.status?.policy.activeKey;
  const keyPart = key ? ` · key '${key.name}'` : '';
  if (input.signInAvailable && !input.signedIn) return `Not signed in${keyPart}`;
  if (who) return `${input.signedIn ? 'Signed in as ' : 'User: '}${who}${keyPart}`;
  if (input.status?.mode === 'local') return 'Local mode: no sign-in needed';
  return key ? `Key '${key.name}'` : 'No user or key configured';
}

function policyLine(status: AgentStatus | undefined): string {
  const policy = status?.policy.policy;
  if (!policy) return 'No policy received yet';
  const issued = Date.parse(policy.issuedAt);
  return `Policy v${policy.version}, issued ${clockTime(issued, Date.parse(status.policy.generatedAt))}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
