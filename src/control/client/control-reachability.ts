import { ControlRequestError, UNRECOGNISED_ERROR_BODY } from './control-api.js';

/** What the device knows about reaching Edge Control, for fail mode and `status`. */
export interface ControlReachabilityState {
  /** False once calls to Edge Control failed FAILURES_BEFORE_UNREACHABLE times in a row; true again at the next answer. */
  reachable: boolean;
  /**
   * False from the start of this run until Edge Control first answers: the device cannot know yet whether
   * the policy it loaded from its cache is still current (a fail-closed policy waits for this, fail-mode.ts).
   */
  confirmed: boolean;
  /**
   * Set while the device cannot or will not call Edge Control, saying why: nothing to enroll with
   * (nobody signed in), or Edge Control keeps refusing the device (`problem` then starts with
   * REFUSES_THIS_DEVICE). There is no answer to wait for until that changes.
   */
  cannotCall?: 'no-credentials' | 'device-refused';
  /**
   * The last call that went wrong (failed, refused or impossible), e.g. `enrollment failed: …`, until one
   * succeeds; otherwise a lasting problem of the device's own (deviceProblem: its enrollment cannot be saved).
   */
  problem?: string;
}

/**
 * How the problem starts once the device stopped enrolling again because Edge Control refuses each fresh
 * credential (policy-sync-client.ts); fail-mode.ts words its refusal after it.
 */
export const REFUSES_THIS_DEVICE = 'Edge Control keeps refusing this device';

/**
 * Failed calls in a row that make Edge Control unreachable. More than one: when a server restarts, the
 * push stream drops and the catch-up fetch fails at once, and the stream's first reconnect (about a
 * second later) usually finds it back; a fail-closed device must not stop its traffic for that. With
 * the sync backoff (1 s, 2 s, 4 s…) three failures take a few seconds, or three request timeouts.
 */
export const FAILURES_BEFORE_UNREACHABLE = 3;

/**
 * Judges whether Edge Control answers, from the calls that keep the device's policy current: enrollment,
 * policy fetches, the push stream. (Heartbeats and audit uploads do not count: a device whose push
 * stream delivers knows its policy is current even if a heartbeat fails.) A failed stream connection
 * is not counted either: the fetch the follower makes at once to catch up is, so one outage is not
 * counted twice. The notion of failure is the retry logic's:
 * - no connection, a timeout, a 5xx, 408/429, or an answer that is not Edge Control's (a captive portal)
 *   is a failure: the call is retried, and enough of them in a row make Edge Control unreachable;
 * - a refusal (4xx: an unknown virtual key, a rejected device credential) comes from a server that
 *   answered: Edge Control is reachable, and the refusal is kept as the problem to show;
 * - any other answer makes it reachable and clears the problem.
 * Until the first answer or refusal of this run, Edge Control is reachable but not `confirmed`: "reachable"
 * keeps its three-failures rule, which protects devices that did hear from it, while a device that has
 * not heard from it since its start says so (an agent restarted during an outage must not pass traffic a
 * fail-closed policy stops until three calls have timed out).
 */
export class ControlReachability {
  private current: ControlReachabilityState = { reachable: true, confirmed: false };
  private failuresInARow = 0;
  /** Set by deviceProblem(); shown as the problem whenever no call went wrong. */
  private standingProblem: string | undefined;

  constructor(private readonly onChange: (state: ControlReachabilityState) => void) {}

  state(): ControlReachabilityState {
    return { ...this.current };
  }

  /** Edge Control answered a call (with what the call asked for), and the device has acted on it. */
  answered(): void {
    this.failuresInARow = 0;
    this.update({ reachable: true, confirmed: true });
  }

  /**
   * Edge Control answered a call that is only a step towards the policy (an enrollment answer: the fresh
   * bundle comes with the fetch that follows). It is reachable, but the policy is not confirmed yet: a
   * fail-closed device's held requests must be decided under the bundle that fetch brings, not the cached one.
   */
  reached(): void {
    this.failuresInARow = 0;
    this.update({ reachable: true, confirmed: this.current.confirmed });
  }

  /**
   * A call failed with `err`; `what` names the call in the problem text ("enrollment", "policy fetch").
   * `confirms: false` for a refusal the device answers by enrolling again (a rejected credential): Edge
   * Control answered, but the policy it confirms comes after the new enrollment.
   */
  failed(what: string, err: unknown, options: { confirms?: boolean } = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    // A refusal is Edge Control's own `{error}` answer. A 4xx in another shape (a WAF's HTML 403, an
    // ingress 404 with no backend) came from something in front of it: Edge Control was not reached.
    if (err instanceof ControlRequestError && err.isRefusal && err.type !== UNRECOGNISED_ERROR_BODY) {
      this.failuresInARow = 0;
      this.update({ reachable: true, confirmed: options.confirms === false ? this.current.confirmed : true, problem: `${what} refused: ${message}` });
      return;
    }
    this.failuresInARow++;
    this.update({ reachable: this.failuresInARow < FAILURES_BEFORE_UNREACHABLE, confirmed: this.current.confirmed, problem: `${what} failed: ${message}` });
  }

  /**
   * A call could not even be made (`err`: nothing to enroll with). That says nothing about Edge Control,
   * so it counts neither way; it is the problem to show, since it is why Edge Control has not answered.
   */
  couldNotCall(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.update({ ...this.current, cannotCall: 'no-credentials', problem: `${what} not possible: ${message}` });
  }

  /**
   * The device stopped enrolling again because Edge Control refuses each fresh credential (`why`: what
   * happened and what to do). Like couldNotCall, no answer is coming until someone acts.
   */
  refusesDevice(why: string): void {
    this.update({ ...this.current, cannotCall: 'device-refused', problem: `${REFUSES_THIS_DEVICE}: ${why}` });
  }

  /**
   * A problem on the device itself that lasts whatever Edge Control answers (its enrollment cannot be
   * saved: what to fix), shown until cleared with `undefined`; a call's problem takes precedence meanwhile.
   */
  deviceProblem(problem: string | undefined): void {
    const previous = this.standingProblem;
    this.standingProblem = problem;
    const { problem: shown, ...rest } = this.current;
    this.update(shown === undefined || shown === previous ? rest : { ...rest, problem: shown });
  }

  private update(proposed: ControlReachabilityState): void {
    const next = proposed.problem === undefined && this.standingProblem !== undefined ? { ...proposed, problem: this.standingProblem } : proposed;
    const same = next.reachable === this.current.reachable && next.confirmed === this.current.confirmed
      && next.cannotCall === this.current.cannotCall && next.problem === this.current.problem;
    if (same) return;
    this.current = next;
    this.onChange(this.state());
  }
}
