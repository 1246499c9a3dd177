import { clockTime } from './clock-time.js';
import type { AgentStatus, AuditQueueSignal } from './agent-status.js';

/**
 * How healthy protection is, as a list of issues worst first. The tray icon shows the worst one; the
 * menu lists them. Severities mean, for the person at the laptop:
 * - `blocked`: AI requests are being refused right now (not signed in, key off, fail-closed, budget spent);
 * - `attention`: AI requests work, but something is degraded or close to a limit;
 * - `off`: the agent itself is not answering.
 */
export type Severity = 'off' | 'blocked' | 'attention';

export interface HealthIssue {
  severity: Severity;
  /** One short sentence for the menu and tooltip. */
  message: string;
}

export interface HealthInput {
  status: AgentStatus | undefined;
  reachable: boolean;
  auditQueue?: AuditQueueSignal;
  /** Why the agent could not start, when it could not (bad config, port in use). */
  startError?: string;
}

const RANK: Record<Severity, number> = { off: 0, blocked: 1, attention: 2 };
/** A budget this full is worth a glance at the tray; the policy's own alert thresholds notify separately. */
const BUDGET_WARNING_FRACTION = 0.8;

export function assessHealth(input: HealthInput): HealthIssue[] {
  const { status } = input;
  if (input.startError !== undefined) return [{ severity: 'off', message: `Bifrost Edge could not start: ${input.startError}` }];
  if (!input.reachable || !status) return [{ severity: 'off', message: 'Bifrost Edge is not responding' }];

  const issues: HealthIssue[] = [];
  const blocked = (message: string) => issues.push({ severity: 'blocked', message });
  const attention = (message: string) => issues.push({ severity: 'attention', message });
  const policy = status.policy;
  const nowMs = Date.parse(policy.generatedAt);
  const governed = status.mode !== 'local';
  const failClosed = policy.policy?.failMode === 'closed';

  // The agent refuses unsigned requests in gateway and pass-through modes (local mode sends no key).
  if (governed && !policy.user.signedIn) blocked('Sign in to use AI apps');
  const key = policy.activeKey;
  if (key?.state === 'inactive') blocked(`Your key '${key.name}' is switched off`);
  if (key?.state === 'expired') blocked(`Your key '${key.name}' has expired`);
  if (!key && policy.policy && policy.keyProblem) blocked('Your policy gives you no usable key');

  const gatewayDown = governed && !policy.connectivity.gateway;
  if (gatewayDown) {
    if (failClosed) blocked('AI requests stopped: Bifrost gateway unreachable');
    else attention('Bifrost gateway unreachable: requests go straight to providers');
  }
  if (!policy.connectivity.controlPlane) {
    if (failClosed) blocked('AI requests stopped: Edge Control unreachable');
    else attention('Edge Control unreachable: using the last policy');
  } else if (failClosed && policy.connectivity.controlPlaneConfirmed === false) {
    // Not heard from since the start: a fail-closed policy holds AI requests, then refuses them.
    if (policy.connectivity.controlPlaneRefusesDevice === true) blocked('AI requests stopped: Edge Control keeps refusing this device (contact IT)');
    else if (policy.connectivity.controlPlaneProblem === undefined) blocked('AI requests on hold: confirming the policy with Edge Control');
    else blocked('AI requests stopped: Edge Control has not answered since Edge started');
  }

  for (const budget of policy.budgets) {
    const scope = budget.provider === undefined ? 'Your budget' : `Your ${budget.provider} budget`;
    const resets = budget.resetsAt ? ` (resets ${clockTime(Date.parse(budget.resetsAt), nowMs)})` : '';
    // A spent key budget stops every request; a spent provider budget only that provider's.
    if (budget.fraction >= 1 && budget.provider === undefined) blocked(`${scope} is used up${resets}`);
    else if (budget.fraction >= 1) attention(`${scope} is used up${resets}`);
    else if (budget.fraction >= BUDGET_WARNING_FRACTION) attention(`${scope} is ${Math.floor(budget.fraction * 100)}% used`);
  }
  for (const limit of policy.rateLimits) {
    if (limit.max > 0 && limit.used >= limit.max) {
      const resets = limit.resetsAt ? ` (resets ${clockTime(Date.parse(limit.resetsAt), nowMs)})` : '';
      attention(`${limit.metric === 'requests' ? 'Request' : 'Token'} limit reached${limit.provider ? ` for ${limit.provider}` : ''}${resets}`);
    }
  }

  const queue = input.auditQueue;
  // The agent acts on these by the policy's fail mode: closed refuses AI requests, open answers them unrecorded.
  if (queue?.unwritable !== undefined) {
    const cannotWrite = `the audit database cannot be written (${queue.unwritable}); free disk space`;
    if (failClosed) blocked(`AI requests stopped: ${cannotWrite}`);
    else attention(`Requests are not being recorded: ${cannotWrite}`);
  }
  const waiting = queue?.waitingFor !== undefined ? ` (waiting for ${queue.waitingFor})` : '';
  if (queue?.full) {
    if (failClosed) blocked(`AI requests stopped: the audit queue is full${waiting}`);
    else attention(`The audit queue is full: requests are not being recorded${waiting}`);
  } else if (queue?.nearCap) {
    attention(`The audit queue is nearly full${waiting}`);
  }
  if (policy.problems.length > 0) attention(`Your policy has ${policy.problems.length === 1 ? 'a part' : `${policy.problems.length} parts`} this device cannot apply`);

  // Stable sort: within a severity the order above (most actionable first) holds.
  return issues.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}
