import type { PolicyBundle, RoutingMode } from '../control/protocol/policy-bundle.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import { formatSpan } from './durations.js';

/**
 * What happens to AI traffic while the Bifrost gateway or Edge Control cannot be reached, per the bundle's
 * `fail_mode` (open by default, and when no bundle has arrived yet).
 *
 * - Gateway unreachable, request bound for it (gateway or pass-through mode): fail-open sends it straight
 *   to the provider (local mode) so work goes on, still under every check this device makes; fail-closed
 *   refuses it.
 * - Edge Control unreachable: the device cannot know whether its policy is current. Fail-open keeps
 *   enforcing the last verified bundle; fail-closed refuses AI traffic until Edge Control answers.
 * - Edge Control not yet confirmed (no answer since Edge started; "unreachable" takes three failed calls,
 *   which can take a minute of timeouts): the same question, before any answer. Fail-open goes on as
 *   when it is reachable; fail-closed holds a request up to CONFIRMATION_WAIT_MS for the first answer
 *   (a normal online start answers well within that) and refuses it if none comes
 *   (unconfirmedPolicyRefusal; the enforcer does the waiting).
 * - Edge Control keeps refusing this device (it enrolls the device, then refuses each fresh credential,
 *   so the device stopped enrolling again): the policy can never be confirmed until someone fixes that.
 *   Fail-open goes on; fail-closed refuses at once (nothing to wait for), since the cached bundle may have
 *   been changed or revoked meanwhile and a server refusing devices must not switch fail-closed off. The
 *   refusal says so and what to do.
 * - Audit queue full (the outbox's primary destination, Edge Control when configured, unreachable so
 *   long that its unacknowledged records filled the cap): fail-open answers, unrecorded; fail-closed
 *   refuses AI traffic until records can be written again. The texts name who the records wait for.
 *   An audit database that cannot be written (a full disk) is treated the same, saying so.
 * Every outcome other than "all reachable" carries a reason for the audit record.
 *
 * "Unreachable" is the caller's judgement (the sync client after its retries, the forwarder after failed
 * connects); this module only decides what that means.
 */

export interface Connectivity {
  /** False while Edge Control is unreachable. True on a device with none configured: nothing to reach. */
  controlPlane: boolean;
  /** False when this device has no Edge Control configured (status says so instead of "reachable"). Default true. */
  controlPlaneConfigured?: boolean;
  /**
   * False while Edge Control has not answered since Edge started (the policy loaded from the cache is not
   * known to be current). Default true, as on a device without Edge Control.
   */
  controlPlaneConfirmed?: boolean;
  /** False while Edge Control cannot even be called (nothing to enroll with): no answer is coming to wait for. Default true. */
  controlPlaneCallable?: boolean;
  /** True when it will not be called because it keeps refusing this device's fresh credentials (see controlPlaneProblem). */
  controlPlaneRefusesDevice?: boolean;
  /** The last call to Edge Control that failed or was refused, until one succeeds (for status). */
  controlPlaneProblem?: string;
  gateway: boolean;
  /** False while the audit outbox refuses records (full of records Edge Control has not acknowledged, or unwritable). Default true. */
  auditQueue?: boolean;
  /** With auditQueue false: why, so refusals, notices and status say what to do. Absent: full, waiting for Edge Control. */
  auditQueueProblem?: AuditQueueProblem;
}

/** Why the audit outbox refuses records. */
export type AuditQueueProblem =
  /**
   * Full of records `waitingFor` (as people call it: "Edge Control", "the OpenTelemetry collector")
   * has not acknowledged; `remedy` is what lets it take them ("Connect to your company network (VPN)…").
   */
  | { kind: 'full'; waitingFor: string; remedy: string }
  /** The audit database cannot be written (a full disk, an I/O error); `reason` is SQLite's. */
  | { kind: 'unwritable'; reason: string };

const EDGE_CONTROL_QUEUE: AuditQueueProblem = {
  kind: 'full',
  waitingFor: 'Edge Control',
  remedy: 'Connect to your company network (VPN) so Edge can upload its records',
};

export type FailModeOutcome =
  | { action: 'proceed' }
  | { action: 'proceed-degraded'; reason: string; /** Send to the provider directly instead of the gateway. */ routeDirect: boolean }
  | { action: 'refuse'; reason: string; error: EdgeError };

export interface FailModeInput {
  bundle: Pick<PolicyBundle, 'fail_mode' | 'version' | 'issued_at'> | undefined;
  connectivity: Connectivity;
  /** Where the request would go with everything reachable. */
  mode: RoutingMode;
  now: Date;
}

export function applyFailMode(input: FailModeInput): FailModeOutcome {
  const { bundle, connectivity, mode, now } = input;
  const failMode = bundle?.fail_mode ?? 'open';
  const needsGateway = mode !== 'local';
  const gatewayDown = needsGateway && !connectivity.gateway;
  const controlDown = !connectivity.controlPlane;
  const auditFull = connectivity.auditQueue === false;
  if (!gatewayDown && !controlDown && !auditFull) return { action: 'proceed' };

  const policy = describePolicy(bundle, now);
  if (failMode === 'closed') {
    if (auditFull) return auditQueueRefusal(connectivity.auditQueueProblem ?? EDGE_CONTROL_QUEUE, policy);
    if (gatewayDown) {
      return {
        action: 'refuse',
        reason: `fail-closed: the Bifrost gateway is unreachable; request refused (${policy})`,
        error: edgeError(503, 'gateway_unreachable',
          'Bifrost Edge cannot reach your organization\'s Bifrost gateway, and your policy says AI requests must stop while it is unreachable, so this request was not sent. Check your network connection (VPN) and try again in a few minutes; if it persists, contact your IT helpdesk.'),
      };
    }
    return {
      action: 'refuse',
      reason: `fail-closed: Edge Control is unreachable, the policy cannot be confirmed; request refused (${policy})`,
      error: edgeError(503, 'gateway_unreachable',
        'Bifrost Edge cannot reach Edge Control to confirm your AI policy, and your policy says AI requests must stop until it can, so this request was not sent. Check your network connection (VPN) and try again in a few minutes; if it persists, contact your IT helpdesk.'),
    };
  }
  if (auditFull && !gatewayDown) {
    return {
      action: 'proceed-degraded',
      reason: auditQueueFailOpenReason(connectivity.auditQueueProblem ?? EDGE_CONTROL_QUEUE, policy),
      routeDirect: false,
    };
  }
  if (gatewayDown) {
    return {
      action: 'proceed-degraded',
      reason: `fail-open: the Bifrost gateway is unreachable; sent directly to the provider under this device's checks (${policy})`,
      routeDirect: true,
    };
  }
  return {
    action: 'proceed-degraded',
    reason: `fail-open: Edge Control is unreachable; enforcing the last verified policy (${policy})`,
    routeDirect: false,
  };
}

/** A fail-closed refusal while the audit queue refuses records, naming why and what to do. */
function auditQueueRefusal(problem: AuditQueueProblem, policy: string): FailModeOutcome {
  if (problem.kind === 'unwritable') {
    return {
      action: 'refuse',
      reason: `fail-closed: the audit database cannot be written (${problem.reason}), the request could not be recorded; request refused (${policy})`,
      error: edgeError(503, 'audit_unwritable',
        `Bifrost Edge cannot record AI requests: its audit database cannot be written (${problem.reason}), and your policy says AI requests must stop until they can be recorded, so this request was not sent. Free disk space on this device (Edge tries again by itself every few seconds); if it persists, contact your IT helpdesk.`),
    };
  }
  return {
    action: 'refuse',
    reason: `fail-closed: ${auditQueueCondition(problem)}, the request could not be recorded; request refused (${policy})`,
    error: edgeError(503, 'audit_queue_full',
      `Bifrost Edge cannot record AI requests: its audit queue is full because it has not reached ${problem.waitingFor} for a long time, and your policy says AI requests must stop until they can be recorded, so this request was not sent. ${problem.remedy}; if it persists, contact your IT helpdesk.`),
  };
}

function auditQueueFailOpenReason(problem: AuditQueueProblem, policy: string): string {
  if (problem.kind === 'unwritable') return `fail-open: the audit database cannot be written (${problem.reason}); this request is answered without an audit record (${policy})`;
  return `fail-open: the audit queue is full; this request is answered without an audit record (the queued records wait for ${problem.waitingFor}; ${policy})`;
}

/** The audit queue's state for a reason or notice: "the audit queue is full of records Edge Control has not acknowledged". */
function auditQueueCondition(problem: { waitingFor: string }): string {
  return `the audit queue is full of records ${problem.waitingFor} has not acknowledged`;
}

/** How long a fail-closed request waits for Edge Control's first answer after a start before it is refused. */
export const CONFIRMATION_WAIT_MS = 2_000;

/**
 * True while a fail-closed policy waits for Edge Control's first answer since the start: requests are
 * held (up to CONFIRMATION_WAIT_MS) rather than refused at once. Not once Edge Control is judged
 * unreachable: there is nothing left to wait for, and the unreachable refusal applies.
 */
export function awaitsControlConfirmation(bundle: Pick<PolicyBundle, 'fail_mode'> | undefined, connectivity: Connectivity): boolean {
  // Nobody signed in: nothing is coming, so every request would wait the whole time for its refusal.
  return isUnconfirmedFailClosed(bundle, connectivity) && connectivity.controlPlaneCallable !== false;
}

/** A fail-closed policy that Edge Control has not confirmed since the start, and that is not judged unreachable yet. */
function isUnconfirmedFailClosed(bundle: Pick<PolicyBundle, 'fail_mode'> | undefined, connectivity: Connectivity): boolean {
  return bundle?.fail_mode === 'closed' && connectivity.controlPlaneConfirmed === false && connectivity.controlPlane;
}

/**
 * The refusal for a request a fail-closed policy cannot let through because Edge Control has not
 * answered since Edge started; undefined when that does not apply (fail-open, confirmed, or already
 * judged unreachable, which applyFailMode refuses with its own message). The message says Edge is still
 * confirming the policy while nothing has gone wrong, and that it could not do so once a call has.
 */
export function unconfirmedPolicyRefusal(input: Omit<FailModeInput, 'mode'>): { reason: string; error: EdgeError } | undefined {
  const { bundle, connectivity, now } = input;
  if (!isUnconfirmedFailClosed(bundle, connectivity)) return undefined;
  const policy = describePolicy(bundle, now);
  if (connectivity.controlPlaneCallable === false && connectivity.controlPlaneRefusesDevice === true) {
    // Refused, not waiting: the bundle in force may have been changed or revoked since it was cached, and
    // a server that refuses the device must not become a way around a fail-closed policy.
    return {
      reason: `fail-closed: ${connectivity.controlPlaneProblem}; the policy cannot be confirmed, request refused (${policy})`,
      error: edgeError(503, 'gateway_unreachable',
        'Edge Control keeps refusing this device, so Bifrost Edge cannot confirm your AI policy, and your policy says AI requests must stop until it is confirmed, so this request was not sent. Contact your IT helpdesk: Edge Control\'s servers may not share their device records (`bifrost-edge status` shows the details); once it is fixed, restart Bifrost Edge or sign in again.'),
    };
  }
  if (connectivity.controlPlaneCallable === false) {
    return {
      reason: `fail-closed: Edge Control cannot be asked to confirm the policy (${connectivity.controlPlaneProblem ?? 'nothing to enroll with'}); request refused (${policy})`,
      error: edgeError(503, 'gateway_unreachable',
        'Bifrost Edge cannot confirm your AI policy with Edge Control because this device has nothing to enroll with (nobody is signed in), and your policy says AI requests must stop until it is confirmed, so this request was not sent. Sign in (the tray\'s "Sign in…", or `bifrost-edge login`); if it persists, contact your IT helpdesk.'),
    };
  }
  if (connectivity.controlPlaneProblem === undefined) {
    return {
      reason: `fail-closed: Edge Control has not answered yet since Edge started, the policy is not confirmed; request refused (${policy})`,
      error: edgeError(503, 'gateway_unreachable',
        'Bifrost Edge has just started and is still confirming your AI policy with Edge Control, and your policy says AI requests must wait until it is confirmed, so this request was not sent. Try again in a few seconds; if it persists, check your network connection (VPN) or contact your IT helpdesk.'),
    };
  }
  return {
    reason: `fail-closed: Edge Control has not answered since Edge started (${connectivity.controlPlaneProblem}), the policy is not confirmed; request refused (${policy})`,
    error: edgeError(503, 'gateway_unreachable',
      'Bifrost Edge has not been able to confirm your AI policy with Edge Control since it started, and your policy says AI requests must stop until it can, so this request was not sent. Check your network connection (VPN) and try again in a few minutes; if it persists, contact your IT helpdesk.'),
  };
}

function describePolicy(bundle: FailModeInput['bundle'], now: Date): string {
  if (!bundle) return 'no policy received yet';
  const age = now.getTime() - Date.parse(bundle.issued_at);
  return Number.isNaN(age) ? `policy v${bundle.version}` : `policy v${bundle.version}, issued ${formatSpan(age)} ago`;
}
