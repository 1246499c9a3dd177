import type { DurationPrice } from '../control/protocol/duration-pricing.js';
import type { ModelPrice, PolicyBundle, RoutingMode } from '../control/protocol/policy-bundle.js';
import type { EdgeError } from '../edge-error.js';
import { normalizeHost } from '../providers/host-pattern.js';
import type { HttpRequestInfo, NormalizedRequest } from '../providers/types.js';
import type { InspectionResult, RequestInspector } from '../proxy/surface-resolution.js';
import { AppsSeen } from './apps-seen.js';
import type { SeenApp } from '../control/protocol/heartbeat.js';
import { attributeApp, compileAppCatalog, decideApp, EMPTY_APP_CATALOG, type AppIdentity, type AppSignals, type CompiledAppCatalog } from './apps.js';
import type { CounterStore } from './counter-store.js';
import { sessionRevocation } from './session-revocation.js';
import { estimatedPromptTokens, InFlightUsage, type Hold, type Reservation } from './in-flight.js';
import { decideRequest, usedUpRefusal, type Decision, type PolicyRoute } from './decide.js';
import { awaitsControlConfirmation, CONFIRMATION_WAIT_MS, unconfirmedPolicyRefusal, type Connectivity } from './fail-mode.js';
import { limitWindows, type CounterSnapshot } from './limits.js';
import { NoticeBus, type Notice, type NoticeDraft } from './notices.js';
import { durationCost, estimateCost, lookupPrice } from './pricing.js';
import { isPendingStatus, type JobState } from './background-jobs.js';
import { requestedOutputCap } from './background-output-cap.js';
import { BackgroundCharging, type BackgroundCharge } from './background-charging.js';
import type { BackgroundJob } from './background-responses.js';
import type { SqliteBackgroundStore } from './background-store.js';
import { priceOf, type LateChargeTarget } from './late-charge.js';
import { billedWithoutUsage, createResponseMeter, generatesAnswer, type ResponseMeter, type ResponseMeterInput } from './response-meter.js';
import { isKnownAiHost, type ShadowAiRegistry } from './shadow-ai.js';
import { allKeyWindows, buildPolicyStatus, type PolicyStatus } from './status-data.js';
import { answerCounter, estimatedUsage, isAcceptedAnswer, isEventStream, usageEstimate } from './unreported-usage.js';
import type { TokenUsage } from './usage.js';
import { WindowCharges, type UsageCharge } from './window-charges.js';
import { header } from '../util/header.js';
import { RequestScopedSlot } from '../util/request-scoped-slot.js';

export type { BackgroundCharge, TrueUpNote } from './background-charging.js';
export type { UsageCharge } from './window-charges.js';

/**
 * The device's policy enforcement, stateful around the pure decision (decide.ts): it holds the current
 * bundle, reads and writes the usage counters, publishes notices and records shadow AI.
 *
 * How the proxy uses it:
 * - `inspector()` is a RequestInspector: put it first in the inspector list. It answers allow or block
 *   (the EdgeError, which the proxy renders in the client's format) and remembers the decision for the
 *   request object it was given.
 * - `follow(request)`, called by the proxy before the decision: the request counts against its key's
 *   request limit only once the proxy says it sent it, and until then holds its place; a request
 *   nobody follows (a WebSocket opening) counts when decided.
 * - `routeFor(request)` then returns the chosen route for that same NormalizedRequest object: mode
 *   (gateway / passthrough / local), the virtual key to send in `x-bf-vk`, and the governed provider/model.
 * - `meterResponse(request, headers)` returns a sink for the response body chunks the proxy relays; when
 *   the response ends, its token usage is charged to the key's token and spend windows. A successful answer
 *   that reports no usage (a stream stopped early, a JSON answer leaving it out; free operations aside), and a
 *   sent request the client abandoned before any answer, are charged Edge's estimate instead
 *   (unreported-usage.ts). A background response or Assistants run (answered `queued`, no usage) is charged
 *   later, to its request, once its usage is fetched back or Edge gives it up (background-charging.ts); each such
 *   late charge is told to `onBackgroundCharge`, which records it.
 * - `settle(request)` when the exchange is over, however it ended: until then an allowed request holds
 *   its estimated cost in its token and spend windows, so requests decided meanwhile count it
 *   (in-flight.ts); a followed request not sent by then gives its place in the request windows back. A
 *   background response's request holds its prompt until its usage is charged, however long Edge waits.
 * Decisions are remembered in a WeakMap keyed by the request object, so nothing leaks when a request is
 * dropped, and a bundle applied mid-request never changes what an in-flight request is charged to.
 */

export interface PolicyEnforcerOptions {
  counters: CounterStore;
  shadowAi?: ShadowAiRegistry;
  notices?: NoticeBus;
  now?: () => Date;
  /** The agent's configured mode, used when the bundle does not say (and before the first bundle). */
  defaultMode?: RoutingMode;
  /** Executable that opened the connection, where the OS tells (for app attribution). */
  processOf?: (info: HttpRequestInfo) => string | undefined;
  /** Called when a side effect (counter write, registry write) fails; the decision stands regardless. */
  onError?: (err: unknown, context: string) => void;
  /** How long a fail-closed request waits for Edge Control's first answer after a start. Default CONFIRMATION_WAIT_MS. */
  controlConfirmationWaitMs?: number;
  /**
   * How long the usage of a background response (or an Assistants run) is waited for before its request is charged
   * its worst case instead (background-responses.ts). Default DEFAULT_BACKGROUND_TIMEOUT_MS, an hour.
   */
  backgroundTimeoutMs?: number;
  /**
   * Told of every charge made after its request's exchange was over: a background response's usage, charged when
   * its final state is fetched back, or the worst case when it is given up. Its audit record is written from this.
   */
  onBackgroundCharge?: (charged: BackgroundCharge) => void;
  /**
   * Keeps background work waited for and estimates open for a true-up across a restart (background-store.ts, in the
   * policy database): what an earlier run left is taken up by `takeUpBackground`. Without it, in memory only.
   */
  backgroundStore?: SqliteBackgroundStore;
}

interface PolicyState {
  bundle: PolicyBundle | undefined;
  catalog: CompiledAppCatalog;
  appliedAt: Date | undefined;
  problems: string[];
}

/** What the device remembers about an allowed request until its response is metered. */
interface Ticket {
  decision: Decision;
  app: AppIdentity;
  /** What the app was attributed from: a live session's app is attributed again under each new catalog (revoked). */
  appSignals: AppSignals;
  keyLabel?: string;
  pricing: Readonly<Record<string, ModelPrice>>;
  /** The bundle's per-minute prices when it was decided (a transcription billed by the minute: recordDurationUsage). */
  durationPricing: Readonly<Record<string, DurationPrice>>;
  thresholds: readonly number[];
  /** What the request holds in its windows until its usage is charged. */
  reservation?: Reservation;
  /** A followed request's place in its request windows, held until it is sent (then counted) or settled. */
  requestHold?: Reservation;
  /** The proxy handed it upstream (followed requests only). */
  sent?: boolean;
  /** Its usage, reported or estimated, was charged: an exchange is charged once. */
  charged?: boolean;
  /** Where the request went, for the record of a charge made after its exchange (a background response's). */
  target: { method: string; host: string; path: string };
  /** The bound the request set on its answer (`max_output_tokens`, …): its worst case if it is given up. */
  outputCap?: number;
}

/** The usage of work billed by something other than tokens (a transcription's seconds): its cost is given apart. */
const NO_TOKENS: TokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 };

export class PolicyEnforcer {
  readonly notices: NoticeBus;
  private readonly appsSeen = new AppsSeen();
  private state: PolicyState = { bundle: undefined, catalog: EMPTY_APP_CATALOG, appliedAt: undefined, problems: [] };
  private identity: { signedIn: boolean; user?: string } = { signedIn: false };
  private connectivity: Connectivity = { controlPlane: true, gateway: true };
  /** Requests held until Edge Control's first answer: each re-checks whether it still has to wait. */
  private readonly confirmationWaiters = new Set<() => void>();
  /** Told after each bundle is applied: live WebSocket sessions recheck their keys (session-revocation.ts). */
  private readonly bundleListeners = new Set<() => void>();
  /** What each decided request holds; on the request itself, not in a WeakMap (see request-scoped-slot.ts). */
  private readonly tickets = new RequestScopedSlot<NormalizedRequest, Ticket>('policy ticket');
  /** Requests the proxy announced it will report as sent (see follow). */
  private readonly followed = new WeakSet<NormalizedRequest>();
  private readonly inFlight = new InFlightUsage();
  /** Charging usage to windows, with its budget alerts: an exchange's charge and a late one alike. */
  private readonly charges: WindowCharges;
  /** Background responses and runs: waited for, charged once their exchange is over, trued up (background-charging.ts). */
  private readonly background: BackgroundCharging;
  /** takeUpBackground waits for the first bundle a policy source brings (see there). */
  private takeUpOnBundle = false;
  private readonly now: () => Date;
  private readonly onError: (err: unknown, context: string) => void;

  constructor(private readonly options: PolicyEnforcerOptions) {
    this.notices = options.notices ?? new NoticeBus();
    this.now = options.now ?? (() => new Date());
    this.onError = options.onError ?? (() => {});
    this.charges = new WindowCharges({ counters: options.counters, now: this.now, onError: this.onError, publish: (draft) => this.publish(draft) });
    this.background = new BackgroundCharging({
      counters: options.counters, charges: this.charges, bundle: () => this.state.bundle, now: this.now, onError: this.onError,
      ...(options.backgroundTimeoutMs !== undefined ? { timeoutMs: options.backgroundTimeoutMs } : {}),
      ...(options.onBackgroundCharge ? { onBackgroundCharge: options.onBackgroundCharge } : {}),
      ...(options.backgroundStore ? { store: options.backgroundStore } : {}),
      holdPrompt: (job, maxAgeMs) => this.holdPrompt(job, maxAgeMs),
    });
  }

  /**
   * Applies a verified bundle (or clears it). The new state replaces the old in one assignment, so every
   * decision sees one bundle or the other, never a mix; in-flight requests keep their tickets.
   * The gateway's reported usage is folded into the local counters so other devices' spend counts too.
   */
  setBundle(bundle: PolicyBundle | undefined): void {
    const catalog = bundle ? compileAppCatalog(bundle.apps.catalog) : EMPTY_APP_CATALOG;
    const problems = [...catalog.problems];
    if (bundle) {
      const issuedAtMs = Date.parse(bundle.issued_at);
      for (const key of bundle.virtual_keys) {
        for (const provider of [undefined, ...new Set(key.provider_configs.map((pc) => pc.provider))]) {
          problems.push(...limitWindows(key, provider, issuedAtMs).problems);
        }
      }
      const windows = bundle.virtual_keys.flatMap((k) => allKeyWindows(bundle, k.id));
      // Windows whose counter key moved with this sync keep their counters, and rows of earlier versions
      // become the windows' own; before the rebase, which reads them.
      this.safe(() => this.options.counters.followWindows(windows, this.now().getTime()), 'carrying counters over to the new policy');
      this.rebaseCounters(bundle);
    }
    this.state = { bundle, catalog, appliedAt: bundle ? this.now() : undefined, problems: [...new Set(problems)] };
    for (const recheck of [...this.confirmationWaiters]) recheck();
    this.tellSessions();
    if (bundle && this.takeUpOnBundle) {
      this.takeUpOnBundle = false;
      this.background.chargeDeferred();
    }
  }

  /** Live WebSocket sessions recheck their keys against the policy, sign-in and connectivity as they are now. */
  private tellSessions(): void {
    for (const listener of [...this.bundleListeners]) this.safe(listener, 'telling live sessions of the new policy');
  }

  /** Calls `listener` after each bundle is applied (live WebSocket sessions recheck their keys); returns its removal. */
  onBundleApplied(listener: () => void): () => void {
    this.bundleListeners.add(listener);
    return () => {
      this.bundleListeners.delete(listener);
    };
  }

  /**
   * The refusal a decided request's key meets now (removed, switched off, expired, its provider or model no longer
   * allowed, its user signed out, a fail-closed policy cut off), or undefined: a live session whose key is revoked is
   * closed (session-revocation.ts).
   */
  revoked(request: NormalizedRequest): EdgeError | undefined {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow') return undefined;
    return sessionRevocation({
      route: ticket.decision.route, bundle: this.state.bundle, now: this.now(),
      signedIn: this.identity.signedIn, connectivity: this.connectivity,
      app: attributeApp(ticket.appSignals, this.state.catalog), operation: request.operation,
    });
  }

  /**
   * What charging `usage` to a decided request would cost, nothing charged (its route's model at its ticket's prices);
   * undefined when no key governs it. A live session charges each usage to the request it costs most on.
   */
  priceOf(request: NormalizedRequest, usage: TokenUsage): number | undefined {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow' || !ticket.decision.route.virtualKey) return undefined;
    return priceOf(lateChargeTarget(request, ticket, ticket.decision.route), usage, undefined).costUsd;
  }

  /** Charges the seconds of audio a transcription model billed by the minute (whisper-1) transcribed: no tokens, its cost. */
  recordDurationUsage(request: NormalizedRequest, seconds: number): UsageCharge | undefined {
    const route = this.routeFor(request);
    if (!route) return undefined;
    const prices = this.tickets.get(request)?.durationPricing;
    return this.charge(request, NO_TOKENS, false, undefined, durationCost(route.provider ?? undefined, route.model, seconds, prices));
  }

  get bundle(): PolicyBundle | undefined {
    return this.state.bundle;
  }

  setIdentity(identity: { signedIn: boolean; user?: string }): void {
    const signedInChanged = identity.signedIn !== this.identity.signedIn;
    this.identity = { ...identity };
    if (signedInChanged) this.tellSessions();
  }

  setConnectivity(update: Partial<Connectivity>): void {
    const before = this.connectivity;
    this.connectivity = { ...this.connectivity, ...update };
    for (const recheck of [...this.confirmationWaiters]) recheck();
    const after = this.connectivity;
    if (before.controlPlane !== after.controlPlane || before.gateway !== after.gateway || before.auditQueue !== after.auditQueue) this.tellSessions();
  }

  attribute(info: HttpRequestInfo): AppIdentity {
    return attributeApp(this.appSignals(info), this.state.catalog);
  }

  /** What an app is attributed from: the host and path, the User-Agent, the process where the OS tells. */
  private appSignals(info: HttpRequestInfo): AppSignals {
    const userAgent = header(info.headers['user-agent']);
    const process = this.options.processOf?.(info);
    return {
      host: info.host,
      path: info.path,
      ...(userAgent !== undefined ? { userAgent } : {}),
      ...(process !== undefined ? { process } : {}),
    };
  }

  /**
   * Decides one request and applies the side effects: request counters, notices, shadow AI. `body`: its parsed
   * body, where the bound it sets on its answer is read (the worst case of a background request given up).
   */
  decide(request: NormalizedRequest, info: HttpRequestInfo, body?: unknown): Decision {
    const state = this.state;
    const now = this.now();
    const appSignals = this.appSignals(info);
    const app = attributeApp(appSignals, state.catalog);
    const decision = this.unconfirmedPolicyBlock(request, app, state.bundle, now) ?? decideRequest({
      request,
      bundle: state.bundle,
      app,
      counters: this.decisionCounters(state.bundle, now.getTime()),
      now,
      signedIn: this.identity.signedIn,
      controlPlaneReachable: this.connectivity.controlPlane,
      gatewayReachable: this.connectivity.gateway,
      auditQueueAccepting: this.connectivity.auditQueue ?? true,
      ...(this.connectivity.auditQueueProblem ? { auditQueueProblem: this.connectivity.auditQueueProblem } : {}),
      ...(this.options.defaultMode !== undefined ? { defaultMode: this.options.defaultMode } : {}),
    });
    this.appsSeen.record(app, now.getTime());
    if (decision.appSeen) this.reportSeenApp(app, request, now);
    if (decision.action === 'block') {
      this.publish(decision.notice);
    } else {
      if (!this.followed.has(request)) this.countRequest(decision.route, now);
      if (decision.failOpen !== undefined) {
        this.publish({
          kind: 'fail_open',
          who: { app: app.name },
          what: { provider: request.provider, host: app.host, ...(request.model !== null ? { model: request.model } : {}) },
          why: { message: decision.failOpen },
        });
      }
    }
    const ticket: Ticket = {
      decision,
      app,
      appSignals,
      pricing: state.bundle?.pricing ?? {},
      durationPricing: state.bundle?.duration_pricing ?? {},
      thresholds: state.bundle?.budget_alert_thresholds ?? [],
      target: { method: info.method, host: info.host, path: info.path },
    };
    const key = decision.action === 'allow' ? decision.route.virtualKey : null;
    if (key) ticket.keyLabel = key.name.trim() !== '' ? key.name : key.id;
    if (decision.action === 'allow') {
      const outputCap = requestedOutputCap(body);
      if (outputCap !== undefined) ticket.outputCap = outputCap;
      ticket.reservation = this.reserve(request, decision.route, ticket.pricing, now.getTime());
      if (this.followed.has(request)) ticket.requestHold = this.holdRequestPlace(decision.route, now.getTime());
    }
    this.tickets.set(request, ticket);
    return decision;
  }

  /** The step the proxy runs on every inspected request. */
  inspector(): RequestInspector {
    return (input) => {
      const verdict = (): InspectionResult => {
        const decision = this.decide(input.request, input.info, input.body);
        return decision.action === 'allow' ? { action: 'allow' } : { action: 'block', error: decision.error };
      };
      // Fail-closed, and Edge Control not heard from since the start: its first answer is usually moments away.
      return awaitsControlConfirmation(this.state.bundle, this.connectivity) ? this.untilControlConfirmed().then(verdict) : verdict();
    };
  }

  /** Resolves once there is no more reason to wait for Edge Control's first answer, or the wait is over. */
  private untilControlConfirmed(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.confirmationWaiters.delete(recheck);
        resolve();
      };
      const recheck = () => {
        if (!awaitsControlConfirmation(this.state.bundle, this.connectivity)) done();
      };
      const timer = setTimeout(done, this.options.controlConfirmationWaitMs ?? CONFIRMATION_WAIT_MS);
      this.confirmationWaiters.add(recheck);
    });
  }

  /** Fail-closed with Edge Control not heard from since the start (fail-mode.ts): refused before any other check. */
  private unconfirmedPolicyBlock(request: NormalizedRequest, app: AppIdentity, bundle: PolicyBundle | undefined, now: Date): Decision | undefined {
    const refusal = unconfirmedPolicyRefusal({ bundle, connectivity: this.connectivity, now });
    if (!refusal) return undefined;
    const model = request.model !== null ? { model: request.model } : {};
    const error: EdgeError = { ...refusal.error, ...model };
    const notice: NoticeDraft = { kind: 'fail_closed', who: { app: app.name }, what: { provider: request.provider, host: app.host, ...model }, why: { message: error.message, errorType: error.type } };
    return { action: 'block', error, notice, reasons: [refusal.reason], appSeen: false };
  }

  /**
   * The proxy will say when it sends `request` (announced before the decision): it then counts against
   * the key's request limit only when sent, as the gateway counts it, so a request Edge refuses after
   * the decision (a guardrail block, an internal error) does not use the limit up.
   */
  follow(request: NormalizedRequest): { sent(): void; abandoned(): UsageCharge | undefined } {
    this.followed.add(request);
    return {
      sent: () => this.countWhenSent(request),
      // The provider read the prompt before the client left, and bills it: it is charged as estimated.
      abandoned: () => (this.tickets.get(request)?.sent && generatesAnswer(request) ? this.chargeUnreported(request, 0) : undefined),
    };
  }

  private countWhenSent(request: NormalizedRequest): void {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow') return;
    ticket.sent = true;
    const hold = ticket.requestHold;
    if (!hold) return;
    // The place held gives way to the count in one synchronous step: nothing decides in between.
    ticket.requestHold = undefined;
    hold.release();
    this.countRequest(ticket.decision.route, this.now());
  }

  /** The route chosen for a request the inspector allowed (same object), or undefined. */
  routeFor(request: NormalizedRequest): PolicyRoute | undefined {
    const ticket = this.tickets.get(request);
    return ticket?.decision.action === 'allow' ? ticket.decision.route : undefined;
  }

  /** The full decision for a request the inspector saw (allow with reasons, or block), for the audit record. */
  decisionFor(request: NormalizedRequest): Decision | undefined {
    return this.tickets.get(request)?.decision;
  }

  /**
   * A sink for the response body of an allowed request (feed it the raw chunks as relayed, then end()).
   * Undefined when there is nothing to charge (blocked, no key governs the request, or it makes the model generate
   * nothing: a retrieval, listing, update or deletion of a stored object, token counting; response-meter.ts
   * generatesAnswer). A request naming no model (a stored prompt, an Assistants run) is priced by the model its
   * answer names, else at the fallback rates. A fetch of a background response or run Edge waits for (background-
   * responses.ts) is metered all the same: its final state's usage is charged to the request that started it.
   * `onCharge` gets the usage the response reported and what it cost, or undefined when it reported
   * none; then `estimate` is what was charged instead, if anything: for a successful answer (a stream, or
   * JSON) of a billed operation (response-meter.ts billedWithoutUsage), the prompt and the answer text read;
   * an error answer accepted nothing and is not charged.
   */
  meterResponse(request: NormalizedRequest, response: ResponseMeterInput, onCharge?: (charge: UsageCharge | undefined, estimate?: UsageCharge, answeredModel?: string) => void): ResponseMeter | undefined {
    if (!generatesAnswer(request)) return this.background.meterFetchedBack(request, response);
    const route = this.routeFor(request);
    if (!route?.virtualKey) return undefined;
    const accepted = isAcceptedAnswer(response);
    const streamed = accepted && isEventStream(response);
    // A JSON answer without usage is charged its prompt only: reading every JSON answer's text twice (the usage
    // reader parses it already) would cost every exchange for the rare one that reports none.
    const answer = isEventStream(response) ? answerCounter(response, 0) : undefined;
    return createResponseMeter(response, (usage, answeredModel, job) => {
      const outputTokens = answer?.outputTokens() ?? 0;
      // Work the provider goes on with (a background response, an Assistants run), or a request continuing such work
      // Edge tracks (tool outputs submitted to a run): charged through that work, when its usage is known.
      if (job && (this.continueBackground(request, job, usage, outputTokens, answeredModel)
        || (!usage && this.leaveRunning(request, job, streamed, outputTokens, answeredModel)))) {
        onCharge?.(undefined, undefined, answeredModel);
        return;
      }
      const charge = usage ? this.charge(request, usage, false, answeredModel) : undefined;
      const estimate = !usage && accepted && billedWithoutUsage(request) ? this.chargeUnreported(request, outputTokens, answeredModel) : undefined;
      this.settle(request);
      onCharge?.(charge, estimate, answeredModel);
    }, answer);
  }

  /**
   * The exchange is over: what the request held in its windows is given back (its usage, if any, was
   * charged; a followed request that was never sent is not counted).
   */
  settle(request: NormalizedRequest): void {
    const ticket = this.tickets.get(request);
    if (!ticket) return;
    // A background response's request gave its hold over to the wait for its usage (leaveRunning).
    ticket.reservation?.release();
    ticket.requestHold?.release();
    ticket.requestHold = undefined;
  }

  /**
   * Whether the token or spend windows a decided request is charged to are used up now (its refusal), or
   * undefined; for a live session, after each charge its server reported. A question only: nothing is counted,
   * no notice published, no app seen, as a decision would. Request-count limits are left out (the session's own
   * opening may have reached one; it is no reason to stop a session already open), and so are what other
   * requests hold while they are answered: an estimate of someone else's prompt must not close a session with
   * tokens left; each of those requests is checked at its own decision. The limits are the key's as the
   * current bundle has them (the ticket's, if the key left it).
   */
  usedUp(request: NormalizedRequest): EdgeError | undefined {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow' || !ticket.decision.route.virtualKey) return undefined;
    const route = ticket.decision.route;
    const keyId = route.virtualKey!.id;
    const bundle = this.state.bundle;
    const key = bundle?.virtual_keys.find((k) => k.id === keyId);
    const windows = bundle && key ? limitWindows(key, route.provider ?? undefined, Date.parse(bundle.issued_at)).windows : route.windows;
    return usedUpRefusal({
      label: ticket.keyLabel ?? keyId, provider: route.provider, model: request.model, windows,
      counters: this.snapshotFor(bundle), nowMs: this.now().getTime(),
    });
  }

  /**
   * Takes up the background work an earlier run of Edge left in the backgroundStore (once): work whose wait ran out
   * meanwhile is given up at once, charged its worst case to the windows of the policy applied now and told to
   * onBackgroundCharge. So the agent calls it once records can be written; until then the stored work is left as it
   * is, for this start or the next. With `bundleExpected` (a policy source will bring one: Edge Control, the quota
   * route) and no bundle applied yet, the work is taken up (a fetch of its final state meanwhile is recognised) but
   * charged only once the first bundle is applied: charged without one, it would go to the counter keys captured at
   * its decision, which a sync may have moved since (background-charging.ts takeUp).
   */
  takeUpBackground(options: { bundleExpected?: boolean } = {}): void {
    const deferCharges = options.bundleExpected === true && !this.state.bundle;
    if (deferCharges) this.takeUpOnBundle = true;
    this.background.takeUp({ deferCharges });
  }

  /**
   * Edge is stopping. With a backgroundStore, the work still waited for stays in it for the next start (its timers
   * stop). Without one, each is charged its worst case now (reported through onBackgroundCharge), since nothing will
   * be waiting for its usage after a restart.
   */
  releaseBackground(): void {
    this.background.releaseAll();
  }

  /**
   * The answer of a generating request reports work Edge already tracks under that id (tool outputs submitted to a
   * run): settled through that work (background-charging.ts continueWork), never charged as an exchange of its own.
   * False when Edge tracks no such work, or under another key: the request is then charged as an exchange.
   */
  private continueBackground(request: NormalizedRequest, job: JobState, usage: TokenUsage | undefined, outputTokens: number, answeredModel: string | undefined): boolean {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow' || !ticket.decision.route.virtualKey || ticket.charged) return false;
    const continued = this.background.continueWork({
      provider: request.provider, job, keyId: ticket.decision.route.virtualKey.id, promptTokens: estimatedPromptTokens(request),
      usage, outputTokens, answeredModel,
    });
    if (!continued) return false;
    ticket.charged = true;
    ticket.reservation?.release();
    ticket.reservation = undefined;
    return true;
  }

  /**
   * The answer of a generating request says the provider goes on working after it (a pending state, reporting no
   * usage): the request is remembered by the id of that work, with what charging it needs (not the request and its
   * texts) and its hold until the usage is known (the hold placed anew, to last as long as the entry may wait). An
   * ordinary response's stream the client left is not such work (the provider stops it): it is charged as estimated
   * at once. False when it is not remembered.
   */
  private leaveRunning(request: NormalizedRequest, job: JobState, streamed: boolean, outputTokens: number, answeredModel: string | undefined): boolean {
    // A JSON answer still pending is background work whatever it says; a stream only when it says so.
    if (!isPendingStatus(job.status) || (streamed && !job.detached)) return false;
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow' || !ticket.decision.route.virtualKey || ticket.charged) return false;
    const route = ticket.decision.route;
    const waiting: BackgroundJob = {
      target: lateChargeTarget(request, ticket, route),
      windows: route.windows.filter((w) => w.metric !== 'requests'),
      promptTokens: estimatedPromptTokens(request),
      outputTokens,
      ...(ticket.outputCap !== undefined ? { outputCap: ticket.outputCap } : {}),
      ...(answeredModel !== undefined ? { answeredModel } : {}),
    };
    if (!this.background.leaveRunning(request.provider, job.id, waiting)) return false;
    // The exchange is charged through its entry from now on. Its hold would be dropped as stale (DEFAULT_MAX_HOLD_MS)
    // well before the wait is over: placed anew in one synchronous step, to last as long as the wait.
    ticket.charged = true;
    ticket.reservation?.release();
    ticket.reservation = undefined;
    const hold = this.reserve(request, route, ticket.pricing, this.now().getTime(), this.background.holdMs);
    if (hold) waiting.hold = hold;
    return true;
  }

  /** Charges a response's usage to the request's token and spend windows; raises budget alerts. */
  recordResponseUsage(request: NormalizedRequest, usage: TokenUsage): UsageCharge | undefined {
    return this.charge(request, usage, false);
  }

  /** Charges Edge's estimate for an exchange sent upstream whose usage was never reported, unless already charged. */
  private chargeUnreported(request: NormalizedRequest, outputTokens: number, answeredModel?: string): UsageCharge | undefined {
    if (this.tickets.get(request)?.charged) return undefined;
    return this.charge(request, estimatedUsage(request, outputTokens), true, answeredModel);
  }

  /** `answeredModel`: the model the answer names, which prices a route naming none; `priced`: a cost not from tokens. */
  private charge(
    request: NormalizedRequest, usage: TokenUsage, estimated: boolean, answeredModel?: string, priced?: { costUsd: number; priceSource: string },
  ): UsageCharge | undefined {
    const ticket = this.tickets.get(request);
    if (ticket?.decision.action !== 'allow') return undefined;
    const route = ticket.decision.route;
    if (!route.virtualKey) return undefined;
    ticket.charged = true;
    // The estimate gives way to the real figure in one synchronous step: nothing decides in between.
    ticket.reservation?.release();
    return this.charges.chargeTo(lateChargeTarget(request, ticket, route), route.windows, usage, estimated, answeredModel, priced).charge;
  }

  /**
   * App governance at CONNECT time, before any request is decrypted (host and, for plain proxies, the
   * User-Agent of the CONNECT request). Unknown AI hosts that Edge only tunnels are recorded as shadow AI.
   */
  checkConnect(input: { host: string; userAgent?: string; process?: string; intercepted: boolean }): { action: 'allow' } | { action: 'block'; error: EdgeError; app: string } {
    const now = this.now();
    const host = normalizeHost(input.host);
    if (!input.intercepted && isKnownAiHost(host)) this.recordShadow('host', host, input.userAgent, now);
    const app = attributeApp({
      host,
      ...(input.userAgent !== undefined ? { userAgent: input.userAgent } : {}),
      ...(input.process !== undefined ? { process: input.process } : {}),
    }, this.state.catalog);
    // Only a denial by the catalog stops a tunnel: pending apps are decided per request, where they are seen.
    if (!app.listed || app.status !== 'denied') return { action: 'allow' };
    // A decrypted host is decided per request instead: the app then gets the refusal in its own API
    // format (an SDK shows "Bifrost Edge blocked curl: …"), where a refused CONNECT only reads as
    // "tunnel failed, response 403" and is recorded nowhere but the notice.
    if (input.intercepted) return { action: 'allow' };
    const verdict = decideApp(app, this.state.bundle);
    if (verdict.action === 'allow') return { action: 'allow' };
    this.appsSeen.record(app, now.getTime());
    this.publish({ kind: 'blocked', who: { app: app.name }, what: { host: app.host }, why: { message: verdict.error.message, errorType: verdict.error.type } });
    return { action: 'block', error: verdict.error, app: app.name };
  }

  /**
   * The heartbeat's inventory: apps whose requests were decided (with their catalog status) and AI hosts
   * reached only through a tunnel (shadow AI, from the persistent registry, so a restart keeps them).
   */
  appsInventory(limit = 500): SeenApp[] {
    const decided = this.appsSeen.list();
    const tunnelled = (this.safe(() => this.options.shadowAi?.list(limit) ?? [], 'listing shadow AI') ?? [])
      .filter((entry) => entry.kind === 'host')
      .map((entry): SeenApp => ({ app: entry.name, host: entry.name, status: 'pending', last_seen: new Date(entry.lastSeen).toISOString(), requests: entry.count }));
    return [...decided, ...tunnelled].slice(0, limit);
  }

  status(): PolicyStatus {
    const state = this.state;
    const now = this.now();
    const shadowAi = this.safe(() => this.options.shadowAi?.list(10) ?? [], 'listing shadow AI') ?? [];
    return buildPolicyStatus({
      bundle: state.bundle,
      appliedAt: state.appliedAt,
      signedIn: this.identity.signedIn,
      ...(this.identity.user !== undefined ? { user: this.identity.user } : {}),
      connectivity: this.connectivity,
      counters: this.snapshotFor(state.bundle),
      blocks: this.notices.recent(['blocked', 'sign_in_required', 'fail_closed'], 10),
      shadowAi,
      problems: state.problems,
      defaultMode: this.options.defaultMode ?? 'gateway',
      now,
    });
  }

  private snapshotFor(bundle: PolicyBundle | undefined) {
    if (!bundle) return new Map();
    const keys = bundle.virtual_keys.flatMap((k) => allKeyWindows(bundle, k.id).map((w) => w.counterKey));
    return this.safe(() => this.options.counters.snapshot(keys), 'reading counters') ?? new Map();
  }

  /** The counters a decision reads: what was charged, plus what requests in flight hold. */
  private decisionCounters(bundle: PolicyBundle | undefined, nowMs: number): CounterSnapshot {
    const charged = this.snapshotFor(bundle);
    const held = this.inFlight.heldByCounter(nowMs);
    if (!bundle || held.size === 0) return charged;
    const out = new Map(charged);
    for (const [counterKey, amount] of held) {
      // No reading yet: a window that has not started (windowUsage then counts only what is held).
      out.set(counterKey, { ...(charged.get(counterKey) ?? { value: 0, windowStartMs: Number.NEGATIVE_INFINITY }), inFlight: amount });
    }
    return out;
  }

  /** Holds an allowed request's estimated cost (its prompt) in the token and spend windows it will be charged to. */
  private reserve(request: NormalizedRequest, route: PolicyRoute, pricing: Readonly<Record<string, ModelPrice>>, nowMs: number, maxAgeMs?: number): Reservation | undefined {
    if (!route.virtualKey || !route.windows.some((w) => w.metric !== 'requests')) return undefined;
    const tokens = estimatedPromptTokens(request);
    if (tokens === 0) return undefined;
    const costUsd = estimateCost({ inputTokens: tokens, outputTokens: 0, totalTokens: tokens, cachedInputTokens: 0, reasoningTokens: 0 }, lookupPrice(route.provider ?? undefined, route.model, pricing).price);
    const holds: Hold[] = [];
    for (const window of route.windows) {
      if (window.metric === 'tokens') holds.push({ counterKey: window.counterKey, amount: tokens });
      else if (window.metric === 'spend') holds.push({ counterKey: window.counterKey, amount: costUsd });
    }
    return this.inFlight.reserve(holds, nowMs, maxAgeMs);
  }

  /** Holds the prompt of background work taken up after a restart in the windows it was decided under, as reserve did. */
  private holdPrompt(job: BackgroundJob, maxAgeMs: number): Reservation | undefined {
    if (job.promptTokens <= 0) return undefined;
    const { costUsd } = priceOf(job.target, usageEstimate(job.promptTokens, 0), job.answeredModel);
    const holds: Hold[] = job.windows.flatMap((w) => (w.metric === 'tokens' ? [{ counterKey: w.counterKey, amount: job.promptTokens }]
      : w.metric === 'spend' ? [{ counterKey: w.counterKey, amount: costUsd }] : []));
    return holds.length > 0 ? this.inFlight.reserve(holds, this.now().getTime(), maxAgeMs) : undefined;
  }

  /** Holds one request in each request window of the route, so requests decided meanwhile count it. */
  private holdRequestPlace(route: PolicyRoute, nowMs: number): Reservation | undefined {
    const holds: Hold[] = route.windows.filter((w) => w.metric === 'requests').map((w) => ({ counterKey: w.counterKey, amount: 1 }));
    return holds.length > 0 ? this.inFlight.reserve(holds, nowMs) : undefined;
  }

  private countRequest(route: PolicyRoute, now: Date): void {
    for (const window of route.windows) {
      if (window.metric !== 'requests') continue;
      this.safe(() => this.options.counters.add(window.counterKey, 1, window, now.getTime()), `counting ${window.counterKey}`);
    }
  }

  private rebaseCounters(bundle: PolicyBundle): void {
    const nowMs = this.now().getTime();
    for (const key of bundle.virtual_keys) {
      for (const window of allKeyWindows(bundle, key.id)) {
        if (!window.reported) continue;
        const reported = window.reported;
        this.safe(() => this.options.counters.rebase(window.counterKey, reported, window, nowMs), `rebasing ${window.counterKey}`);
      }
    }
  }

  private reportSeenApp(app: AppIdentity, request: NormalizedRequest, now: Date): void {
    if (!app.listed) this.recordShadow('app', app.id, app.host, now);
    this.publish({
      kind: 'app_pending',
      who: { app: app.name },
      what: { provider: request.provider, host: app.host },
      why: { message: `${app.name} is not yet reviewed by your admin; its use on ${app.host} has been reported.` },
    });
  }

  private recordShadow(kind: 'host' | 'app', name: string, detail: string | undefined, now: Date): void {
    const registry = this.options.shadowAi;
    if (!registry) return;
    const isNew = this.safe(() => registry.record(kind, name, detail, now), `recording shadow AI ${name}`);
    if (isNew && kind === 'host') {
      this.publish({ kind: 'shadow_ai', who: {}, what: { host: name }, why: { message: `${name} is an AI service your organization's policy does not cover; its use has been recorded.` } });
    }
  }

  private publish(draft: NoticeDraft): Notice {
    const user = this.identity.user ?? this.state.bundle?.subject?.email ?? this.state.bundle?.subject?.sub;
    return this.notices.publish(user !== undefined ? { ...draft, who: { ...draft.who, user } } : draft);
  }

  private safe<T>(fn: () => T, context: string): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.onError(err, context);
      return undefined;
    }
  }
}

/** What charging `request` needs once its exchange is over, from its ticket (late-charge.ts): not the request itself. */
function lateChargeTarget(request: NormalizedRequest, ticket: Ticket, route: PolicyRoute): LateChargeTarget {
  return {
    keyId: route.virtualKey?.id ?? '',
    keyLabel: ticket.keyLabel ?? 'your key',
    pricing: ticket.pricing,
    thresholds: ticket.thresholds,
    provider: route.provider ?? undefined,
    model: route.model,
    request: { provider: request.provider, model: request.model, operation: request.operation },
    // Without its query: a record is kept for a day, and a query may carry a key (Gemini's `?key=`) or 16 KB.
    target: { ...ticket.target, path: pathWithoutQuery(ticket.target.path) },
    app: ticket.app.name,
  };
}

function pathWithoutQuery(path: string): string {
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}
