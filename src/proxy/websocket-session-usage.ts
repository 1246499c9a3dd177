import type { EdgeError } from '../edge-error.js';
import type { NormalizedRequest } from '../providers/types.js';
import type { TokenUsage } from '../policy/usage.js';
import { candidateNames, estimateCost, listCost, lookupPrice } from '../policy/pricing.js';
import { estimatedUsage } from '../policy/unreported-usage.js';
import { SERVER_MODEL_OPERATION } from '../policy/model-access.js';
import type { ExchangeRecord, UsageNote } from './exchange.js';
import type { WebSocketApi } from './websocket-messages.js';
import { readServerUsage } from './websocket-usage.js';

export interface SessionUsageDeps {
  api: WebSocketApi;
  /** Charges usage to the key's token and spend windows against a decided request's ticket; undefined when no key governs it. */
  charge: (request: NormalizedRequest, usage: TokenUsage) => UsageNote | undefined;
  /**
   * After a charge: the refusal the key's token or spend windows that `request` is charged to now meet, used up,
   * or undefined (policy's usedUp: a question with no side effects, request-count limits left out).
   */
  usedUp: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /**
   * The refusal a decided request's key now meets under the current policy (gone from the bundle, switched off,
   * expired, its provider or model no longer allowed: policy's revoked, session-revocation.ts), or undefined.
   * Asked after each charge and on recheck; without it a session outlives its key.
   */
  revoked?: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /**
   * What charging `usage` to a decided request would cost, nothing charged (policy's priceOf: the request's route
   * model at its ticket's prices, as the charge prices it); undefined when no key governs it. A Realtime session's
   * usage is charged to the decided request it costs most on. Without it, each request's model is priced on the
   * built-in list prices (pricing.ts listCost), which neither the bundle's prices nor the route's model reach.
   */
  priceOf?: (request: NormalizedRequest, usage: TokenUsage) => number | undefined;
  /**
   * Charges seconds of audio a transcription model billed by the minute (whisper-1) transcribed, against a decided
   * request's ticket (policy's recordDurationUsage); undefined when no key governs it. Without it they are not charged.
   */
  chargeSeconds?: (request: NormalizedRequest, seconds: number) => UsageNote | undefined;
  /**
   * Decides the model the server says a Realtime session runs on (session.created, session.updated) as itself, under
   * the policy's rule for server-named models (a release its alias allows; on Azure, where it is the model behind the
   * deployment, only a deny rule naming it): the decided request, or the refusal that closes the session. Without it
   * the server's model is not read.
   */
  decideServed?: (model: string) => Promise<ServedModelVerdict>;
  /** Writes an audit record of the socket (the socket's own fields filled in); `started` is when what it records began. */
  record: (started: number, fields: Pick<ExchangeRecord, 'decision'> & Partial<ExchangeRecord>) => Promise<void>;
}

type Refusal = Pick<EdgeError, 'status' | 'type' | 'message'>;

/** The policy's verdict on the model the server runs a session on. */
export type ServedModelVerdict = { allowed: NormalizedRequest } | { refused: NormalizedRequest; refusal: Refusal };

/** A Responses turn sent upstream, until its answer ends or the socket closes. */
export interface SentTurn {
  /** What the turn holds in the key's windows is given back. */
  settle(): void;
  /** The turn was sent and never answered: Edge's estimate is charged (the provider read the prompt). */
  abandoned?(): UsageNote | undefined;
}

/** How a session whose key's budget is spent is closed. */
export interface SessionClose {
  code: number;
  reason: string;
  /** Why an audit record (the charge's, or the close's) could not be written: the socket closes anyway. */
  recordError?: Error;
}

export interface SessionUsage {
  /**
   * A decided request on a model the session runs or may run on (a Realtime opening, a model a session.update names,
   * the model the server says it runs; a Gemini Live setup): the session's usage is charged to whichever of these it
   * costs most on. A request naming no model (an opening without `?model=`) counts only until one naming a model
   * does. False, and not taken, when the session already names MAX_SESSION_MODELS models.
   */
  govern(request: NormalizedRequest): boolean;
  /**
   * Whether the session was already decided on `model`, by that very name (its opening's, one a session.update named,
   * one its server named): a client echoing the release its server named (`gpt-realtime-2025-08-28` where the key lists
   * `gpt-realtime`) names nothing new, so it is not decided again under the stricter rule for client-named models.
   * `heldToLists`: only a decision that held `model` to the key's model lists counts, not one under its deny rules
   * alone (SERVER_MODEL_OPERATION: a server's model, on Azure the model behind a deployment).
   */
  alreadyDecided(model: string, heldToLists?: boolean): boolean;
  /**
   * The request, decided on the transcription model a Realtime session configured, whose ticket its input audio
   * transcriptions are charged to (at that model's rates); until one is, they are charged to the governing request.
   */
  transcribeWith(request: NormalizedRequest): void;
  /** A Responses turn went upstream: its answer's usage is charged to it. Turns are answered in order on one socket. */
  turnSent(request: NormalizedRequest, turn: SentTurn): void;
  /**
   * Reads one server message, already relayed, for usage and charges it. Synchronous up to the charge (the next
   * decision counts it); resolves, once its record is written, to a close when the key's budget is now spent or no
   * longer allows the session. A Realtime server's session.created or session.updated naming a model not decided
   * yet resolves, once that is decided, to a close when the key does not allow it.
   */
  serverMessage(data: Buffer): Promise<SessionClose | undefined> | undefined;
  /**
   * The policy changed: resolves, once its record is written, to a close when the session's key no longer allows it
   * or its tokens or budget are used up under the new limits (Realtime, Gemini Live; a Responses turn is decided anew).
   */
  recheck(): Promise<SessionClose | undefined>;
  /** The socket closed, however: turns never answered are charged Edge's estimate and give back what they hold. */
  closed(): Promise<void>;
}

const POLICY_VIOLATION = 1008;

/**
 * The most models one session may name (each decided, and each priced at every charge): a client has no reason to
 * name more than a few (the API fixes a session's model at its opening).
 */
export const MAX_SESSION_MODELS = 32;

/** Why a session naming more than MAX_SESSION_MODELS models is closed. Short enough for a close frame. */
export const TOO_MANY_MODELS_MESSAGE = `Bifrost Edge: a session may name at most ${MAX_SESSION_MODELS} models; it was closed`;

/**
 * Charges what the server of a WebSocket reports it used to the key's windows, as an HTTP answer's usage is, and
 * records each charge. A Responses turn is charged to its own decision (the turns on a socket are answered in
 * order, one response at a time); a Realtime or Gemini Live session to the decision that governs it. A Realtime
 * session may have been decided on several models (its opening's, those its session.updates named, the one the server
 * says it runs): the API fixes its model at the opening, so naming another changes nothing but what Edge would charge,
 * and each usage is charged to the decided request it costs most on (policy's priceOf: the route's model at the
 * bundle's prices, as the charge itself prices it), never at the price of a name the client chose to look cheap.
 *
 * Realtime and Gemini Live sessions answer without the client asking for each answer (server voice activity
 * detection never sends a `response.create`), so no decision would ever stop one: after each charge Edge asks
 * whether the key's token or spend windows are used up (a question, not a decision: nothing counted, no notice; a
 * request limit reached is no reason to stop, and never hides a spent budget), and a session whose key has used up
 * its tokens or budget is closed with the policy's message (1008). So is one whose key the policy no longer allows
 * (revoked: gone from the bundle, switched off, expired, its provider or model no longer allowed, its user signed
 * out, the policy's fail mode now refusing), asked of every request the session was decided on after each charge and
 * whenever the policy changes (recheck); and one whose server says it runs a model the key does not allow. A session
 * is closed once, with one record, however many of these find it at once. A Responses session stays open: its next
 * turn is refused as an HTTP request is.
 *
 * A Responses turn is tied to its response by id: to the response.created naming its model (exactly or with a
 * release suffix, servedTurn; the first turn waiting otherwise), and its end found by that id. A socket runs one response at a time, so when a response starts, a
 * started turn still waiting for its end had its response end in an error: it is charged Edge's estimate then (the
 * provider read its prompt), not left holding its place until the close. An `error` naming no response refuses one
 * of the turns not yet started, but which is unknown (a pipelined turn's refusal may come before the first turn's
 * response.created): it is settled once the other waiting turns have started; still open at the close, the
 * cheapest waiting turns are taken as refused and the dearer charged Edge's estimate, the safe side. An `error`
 * with a `sequence_number` while a response runs is an event of that response's stream, not a refusal.
 *
 * Never lose a charge: a response.created finding no turn waiting, or a turn end finding no turn, is charged to the
 * turn it most likely belongs to among those that left the queue (one taken as refused first, on its model, then
 * the one answered last), not dropped.
 */
type Turn = { request: NormalizedRequest; turn: SentTurn; sentAt: number; started: boolean; responseId?: string };

/** How many turns that left the queue (refused or answered) are kept to charge a response that finds no turn. */
const DEPARTED_KEPT = 16;

export function createSessionUsage(deps: SessionUsageDeps): SessionUsage {
  /** The decided requests a Realtime or Gemini Live session's usage may be charged to (govern), the earliest first. */
  let governing: NormalizedRequest[] = [];
  /** Every request the session was decided on that it still runs under: the opening's, each model named, the server's. */
  let decided: NormalizedRequest[] = [];
  let transcribing: NormalizedRequest | undefined;
  /** The last model the server said it runs (session.created, session.updated), decided or being decided. */
  let served: string | undefined;
  let turns: Turn[] = [];
  /** Turns that left the queue, the latest last: those taken as refused (`refused`), and those answered. */
  let departed: Array<Turn & { refused: boolean }> = [];
  /** Errors naming no response: each refused one of the turns not yet started, not yet told which. */
  let refusals = 0;
  let ended = false;
  /** Where the span of the session's next usage record starts. */
  let since = Date.now();

  const abandon = (request: NormalizedRequest, turn: SentTurn, sentAt: number): Promise<void> => {
    const estimate = turn.abandoned?.();
    turn.settle();
    if (!estimate) return Promise.resolve();
    return deps.record(sentAt, { decision: 'forwarded', model: request.model, estimatedUsage: { ...estimate.usage, costUsd: estimate.costUsd }, findings: [] });
  };

  const depart = (left: Turn[], refused: boolean) => {
    departed = [...departed, ...left.map((t) => ({ ...t, refused }))].slice(-DEPARTED_KEPT);
  };

  /**
   * The turn a response that found none waiting most likely belongs to (taken out of `departed` when it was taken
   * as refused: it is that response's turn now): a turn taken as refused, on the response's model if one is, the
   * latest first; else the turn answered last (the response is charged to its key and model again, the safe side).
   */
  const claimant = (model: string | undefined): Turn | undefined => {
    const refused = departed.filter((t) => t.refused).reverse();
    const revived = servedTurn(refused, model) ?? refused[0];
    if (revived) {
      departed = departed.filter((t) => t !== revived);
      return { request: revived.request, turn: revived.turn, sentAt: revived.sentAt, started: false };
    }
    const answered = departed.at(-1);
    // Its hold was given back and its charge made: the new response's end is charged to its request, nothing held.
    return answered && { request: answered.request, turn: { settle: () => {} }, sentAt: Date.now(), started: false };
  };

  /** Once as many turns wait to start as errors refused, those are the refused ones: they end without usage. */
  const settleRefused = () => {
    const waiting = turns.filter((t) => !t.started);
    if (refusals === 0 || waiting.length > refusals) return;
    for (const { turn } of waiting) turn.settle();
    depart(waiting, true);
    turns = turns.filter((t) => t.started);
    refusals = 0;
  };

  /** The governing request `usage` costs most on (the earliest of equals), by the policy's price or, without it, the list price. */
  const dearestFor = (usage: TokenUsage): NormalizedRequest | undefined => {
    let dearest: { request: NormalizedRequest; cost: number } | undefined;
    for (const request of governing) {
      const cost = deps.priceOf?.(request, usage) ?? listCost(request.provider, request.model, usage);
      if (!dearest || cost > dearest.cost) dearest = { request, cost };
    }
    return dearest?.request;
  };

  /**
   * Records a charge made (`note`, to `request`) and, asked in the same synchronous step as the charge, whether the
   * session must end now; only then are the records written. A record that cannot be written never keeps a session
   * open: its error goes with the close (the relay logs it), or, with no close, rejects as before.
   */
  const recordCharge = async (request: NormalizedRequest, note: UsageNote | undefined): Promise<SessionClose | undefined> => {
    if (!note) return undefined;
    const started = since;
    since = Date.now();
    const refusal = refusalOf(request);
    const recorded = deps.record(started, { decision: 'forwarded', model: request.model, usage: note.usage, costUsd: note.costUsd, findings: [] });
    if (!refusal) {
      await recorded;
      return undefined;
    }
    return closeFor(refusal.request, refusal.refusal, recorded);
  };

  const chargeSession = (usage: TokenUsage, request: NormalizedRequest | undefined): Promise<SessionClose | undefined> | undefined => {
    if (!request) return undefined;
    return recordCharge(request, deps.charge(request, usage));
  };

  /** The requests whose keys the session must still be allowed: every one it was decided on and still runs under. */
  const running = (): NormalizedRequest[] => (transcribing ? [...decided, transcribing] : decided);

  /**
   * Why the session must end now, and the request it is recorded on: a key that no longer allows any request the
   * session runs under (checked first: the reason that lasts), or the charged request's windows used up.
   */
  const refusalOf = (charged: NormalizedRequest | undefined): { request: NormalizedRequest; refusal: Refusal } | undefined => {
    for (const request of running()) {
      const refusal = deps.revoked?.(request);
      if (refusal) return { request, refusal };
    }
    const usedUp = charged && deps.usedUp(charged);
    return usedUp && charged ? { request: charged, refusal: usedUp } : undefined;
  };

  /** The session's close, once one is decided: later refusals (a charge and a policy change at once) share it and its record. */
  let closing: Promise<SessionClose | undefined> | undefined;

  /** Closing the session: recorded after `before` (the charge that caused it), each record's failure kept for the relay. */
  const closeFor = (request: NormalizedRequest, refusal: Refusal, before: Promise<void>): Promise<SessionClose | undefined> => {
    if (closing) {
      const shared = closing;
      return before.then(() => shared, async (err: unknown) => {
        const close = await shared;
        return close && { ...close, recordError: close.recordError ?? (err as Error) };
      });
    }
    closing = (async () => {
      const close: SessionClose = { code: POLICY_VIOLATION, reason: refusal.message };
      const closingRecord = () => deps.record(Date.now(), {
        via: 'edge', decision: 'blocked', model: request.model, status: refusal.status, errorType: refusal.type, message: refusal.message, findings: [],
      });
      for (const write of [() => before, closingRecord]) {
        try {
          await write();
        } catch (err) {
          close.recordError ??= err as Error;
        }
      }
      // A socket closed meanwhile needs no close.
      return ended ? undefined : close;
    })();
    return closing;
  };

  /**
   * Whether `model` is one the session was already decided on, by that very name: a release of a decided alias
   * (`gpt-realtime-2025-08-28` of `gpt-realtime`) is decided as itself, since a key may block one release of an alias it allows.
   */
  const alreadyDecided = (model: string, heldToLists = false): boolean =>
    decided.some((request) => request.model === model && (!heldToLists || request.operation !== SERVER_MODEL_OPERATION));

  /** The server says which model it runs the session on: one not decided yet is, and one the key does not allow ends it. */
  const servedModel = async (model: string): Promise<SessionClose | undefined> => {
    const verdict = await deps.decideServed!(model);
    if (ended) return undefined;
    if ('refused' in verdict) return closeFor(verdict.refused, verdict.refusal, Promise.resolve());
    if (!govern(verdict.allowed)) {
      const refusal = { status: 400, type: 'invalid_request', message: TOO_MANY_MODELS_MESSAGE };
      return closeFor(verdict.allowed, refusal, Promise.resolve());
    }
    return undefined;
  };

  const govern = (request: NormalizedRequest): boolean => {
    if (request.model === null) {
      // An opening naming no model: charged (at the fallback prices) until a model is known.
      if (governing.length === 0) governing = [request];
      decided.push(request);
      return true;
    }
    if (governing.some((known) => known.model === request.model)) return true;
    const named = governing.filter((known) => known.model !== null);
    if (named.length >= MAX_SESSION_MODELS) return false;
    governing = [...named, request];
    decided.push(request);
    return true;
  };

  return {
    govern,
    alreadyDecided,

    transcribeWith(request) {
      transcribing = request;
    },

    turnSent(request, turn) {
      if (ended) {
        void abandon(request, turn, Date.now()).catch(() => {});
        return;
      }
      turns.push({ request, turn, sentAt: Date.now(), started: false });
    },

    serverMessage(data) {
      if (ended) return undefined;
      const event = readServerUsage(deps.api, data);
      if (!event) return undefined;
      switch (event.kind) {
        case 'usage':
          return chargeSession(event.usage, event.transcription ? transcribing ?? dearestFor(event.usage) : dearestFor(event.usage));
        case 'transcribed-seconds': {
          // Billed by the minute: the transcription model's, else (none configured on this socket) the session's.
          const request = transcribing ?? governing[0];
          if (!request || !deps.chargeSeconds) return undefined;
          return recordCharge(request, deps.chargeSeconds(request, event.seconds));
        }
        case 'session-model':
          if (!deps.decideServed || event.model === served || alreadyDecided(event.model)) return undefined;
          served = event.model;
          return servedModel(event.model);
        case 'turn-started': {
          // The response before it is over: a started turn still waiting ended in an error without an end event.
          const over = turns.filter((t) => t.started);
          turns = turns.filter((t) => !t.started);
          const waiting = turns.filter((t) => !t.started);
          let next = servedTurn(waiting, event.model) ?? waiting[0];
          if (!next) {
            // No turn waits for it: a turn was taken as refused wrongly (or its request never reached Edge's queue).
            next = claimant(event.model);
            if (next) turns.push(next);
          }
          if (next) {
            next.started = true;
            if (event.responseId !== undefined) next.responseId = event.responseId;
          }
          settleRefused();
          if (over.length === 0) return undefined;
          return Promise.all(over.map(({ request, turn, sentAt }) => abandon(request, turn, sentAt))).then(() => undefined);
        }
        case 'error': {
          // An event of the running response's stream: that response's error (it ends with response.failed, or the
          // next response.created finds it over), not a refusal of a turn waiting behind it.
          if (event.sequenced && turns.some((t) => t.started)) return undefined;
          // Refused before its response started: it ends without usage, once it is known which it was.
          if (!turns.some((t) => !t.started)) return undefined;
          refusals++;
          settleRefused();
          return undefined;
        }
        case 'turn-ended': {
          const answered = (event.responseId !== undefined ? turns.find((t) => t.responseId === event.responseId) : undefined)
            ?? turns.find((t) => t.started) ?? turns.find((t) => !t.started) ?? claimant(undefined);
          if (!answered) return undefined;
          turns = turns.filter((t) => t !== answered);
          depart([answered], false);
          settleRefused();
          // Answered without usage: the provider read the prompt and wrote the answer all the same, so it is
          // charged Edge's estimate of both, as an HTTP stream that reported none is.
          const note = deps.charge(answered.request, event.usage ?? estimatedUsage(answered.request, event.answerTokens ?? 0));
          answered.turn.settle();
          if (!note) return undefined;
          const charged = event.usage ? { usage: note.usage, costUsd: note.costUsd } : { estimatedUsage: { ...note.usage, costUsd: note.costUsd } };
          return deps.record(answered.sentAt, { decision: 'forwarded', model: answered.request.model, ...charged, findings: [] })
            .then(() => undefined);
        }
      }
    },

    recheck() {
      if (ended) return Promise.resolve(undefined);
      // Already closing: the close was given to the relay once.
      if (closing) return closing.then(() => undefined);
      const refusal = refusalOf(undefined);
      if (refusal) return closeFor(refusal.request, refusal.refusal, Promise.resolve());
      // The windows of each request the session was decided on, under the new limits.
      for (const request of running()) {
        const usedUp = deps.usedUp(request);
        if (usedUp) return closeFor(request, usedUp, Promise.resolve());
      }
      return Promise.resolve(undefined);
    },

    async closed() {
      if (ended) return;
      ended = true;
      // Refusals not yet told apart: the cheapest waiting turns are taken as refused, the dearer charged.
      const refused = new Set(turns.filter((t) => !t.started).sort((a, b) => estimatedCostOf(a.request) - estimatedCostOf(b.request)).slice(0, refusals));
      for (const { turn } of refused) turn.settle();
      const unanswered = turns.filter((t) => !refused.has(t));
      turns = [];
      refusals = 0;
      governing = [];
      decided = [];
      transcribing = undefined;
      await Promise.all(unanswered.map(({ request, turn, sentAt }) => abandon(request, turn, sentAt)));
    },
  };
}

/**
 * The turn, of `candidates`, that a response the server says runs on `served` answers: one that asked for that name,
 * or for it without its release suffixes (`o3-pro-2025-06-10` answers `o3-pro`; never `o3`, another model whose name
 * it starts with), the longest name asked for first, then the earliest turn.
 */
function servedTurn<T extends { request: NormalizedRequest }>(candidates: readonly T[], served: string | undefined): T | undefined {
  if (served === undefined) return undefined;
  const names = candidateNames(served);
  let best: T | undefined;
  for (const candidate of candidates) {
    const requested = candidate.request.model;
    if (requested === null || !names.includes(requested)) continue;
    if (!best || requested.length > best.request.model!.length) best = candidate;
  }
  return best;
}

/**
 * What Edge estimates a turn's prompt costs, only to tell the dearer of two turns apart (the built-in prices: the
 * bundle's may differ, rarely in which model is dearer).
 */
function estimatedCostOf(request: NormalizedRequest): number {
  return estimateCost(estimatedUsage(request, 0), lookupPrice(request.provider, request.model).price);
}
