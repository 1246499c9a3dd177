import type { EdgeError } from '../edge-error.js';
import type { NormalizedRequest } from '../providers/types.js';
import type { TokenUsage } from '../policy/usage.js';
import { candidateNames, estimateCost, lookupPrice } from '../policy/pricing.js';
import { estimatedUsage } from '../policy/unreported-usage.js';
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
  /** Writes an audit record of the socket (the socket's own fields filled in); `started` is when what it records began. */
  record: (started: number, fields: Pick<ExchangeRecord, 'decision'> & Partial<ExchangeRecord>) => Promise<void>;
}

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
  /** The request whose ticket the session's usage is charged to (a Realtime opening or session.update, a Gemini Live setup). */
  govern(request: NormalizedRequest): void;
  /**
   * The request, decided on the transcription model a Realtime session configured, whose ticket its input audio
   * transcriptions are charged to (at that model's rates); until one is, they are charged to the governing request.
   */
  transcribeWith(request: NormalizedRequest): void;
  /** A Responses turn went upstream: its answer's usage is charged to it. Turns are answered in order on one socket. */
  turnSent(request: NormalizedRequest, turn: SentTurn): void;
  /**
   * Reads one server message, already relayed, for usage and charges it. Synchronous up to the charge (the next
   * decision counts it); resolves, once its record is written, to a close when the key's budget is now spent.
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
 * Charges what the server of a WebSocket reports it used to the key's windows, as an HTTP answer's usage is, and
 * records each charge. A Responses turn is charged to its own decision (the turns on a socket are answered in
 * order, one response at a time); a Realtime or Gemini Live session to the decision that governs it.
 *
 * Realtime and Gemini Live sessions answer without the client asking for each answer (server voice activity
 * detection never sends a `response.create`), so no decision would ever stop one: after each charge Edge asks
 * whether the key's token or spend windows are used up (a question, not a decision: nothing counted, no notice; a
 * request limit reached is no reason to stop, and never hides a spent budget), and a session whose key has used up
 * its tokens or budget is closed with the policy's message (1008). So is one whose key the policy no longer allows
 * (revoked: gone from the bundle, switched off, expired, its provider or model no longer allowed), asked after each
 * charge and whenever the policy changes (recheck). A Responses session stays open: its next turn is refused as an
 * HTTP request is.
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
  let governing: NormalizedRequest | undefined;
  let transcribing: NormalizedRequest | undefined;
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

  /**
   * Charges the session's usage and, in the same synchronous step, asks whether its key's windows are now used
   * up; only then are the records written. A record that cannot be written never keeps a session open: its error
   * goes with the close (the relay logs it), or, with no close, rejects as before.
   */
  const chargeSession = async (usage: TokenUsage, request: NormalizedRequest | undefined): Promise<SessionClose | undefined> => {
    if (!request) return undefined;
    const note = deps.charge(request, usage);
    if (!note) return undefined;
    const started = since;
    since = Date.now();
    const refusal = refusalOf(request);
    const recorded = deps.record(started, { decision: 'forwarded', model: request.model, usage: note.usage, costUsd: note.costUsd, findings: [] });
    if (!refusal) {
      await recorded;
      return undefined;
    }
    return closeFor(request, refusal, recorded);
  };

  /** Why the session must end now: its key no longer allows it (checked first: the reason that lasts), or is used up. */
  const refusalOf = (request: NormalizedRequest) => deps.revoked?.(request) ?? deps.usedUp(request);

  /** Closing the session: recorded after `before` (the charge that caused it), each record's failure kept for the relay. */
  const closeFor = async (request: NormalizedRequest, refusal: Pick<EdgeError, 'status' | 'type' | 'message'>, before: Promise<void>): Promise<SessionClose | undefined> => {
    const close: SessionClose = { code: POLICY_VIOLATION, reason: refusal.message };
    const closing = () => deps.record(Date.now(), {
      via: 'edge', decision: 'blocked', model: request.model, status: refusal.status, errorType: refusal.type, message: refusal.message, findings: [],
    });
    for (const write of [() => before, closing]) {
      try {
        await write();
      } catch (err) {
        close.recordError ??= err as Error;
      }
    }
    // A socket closed meanwhile needs no close.
    return ended ? undefined : close;
  };
  /** A recheck already closing the session: later policy changes write no second record. */
  let rechecked: Promise<SessionClose | undefined> | undefined;

  return {
    govern(request) {
      governing = request;
    },

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
          return chargeSession(event.usage, event.transcription ? transcribing ?? governing : governing);
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
      if (rechecked) return rechecked.then(() => undefined);
      for (const request of [governing, transcribing]) {
        const refusal = request && refusalOf(request);
        if (request && refusal) return rechecked = closeFor(request, refusal, Promise.resolve());
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
      governing = undefined;
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
