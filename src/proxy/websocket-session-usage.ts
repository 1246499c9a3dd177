import type { EdgeError } from '../edge-error.js';
import type { NormalizedRequest } from '../providers/types.js';
import type { TokenUsage } from '../policy/usage.js';
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
  /** A Responses turn went upstream: its answer's usage is charged to it. Turns are answered in order on one socket. */
  turnSent(request: NormalizedRequest, turn: SentTurn): void;
  /**
   * Reads one server message, already relayed, for usage and charges it. Synchronous up to the charge (the next
   * decision counts it); resolves, once its record is written, to a close when the key's budget is now spent.
   */
  serverMessage(data: Buffer): Promise<SessionClose | undefined> | undefined;
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
 * its tokens or budget is closed with the policy's message (1008). A Responses session stays open: its next turn is refused as an HTTP request is.
 */
export function createSessionUsage(deps: SessionUsageDeps): SessionUsage {
  let governing: NormalizedRequest | undefined;
  let turns: Array<{ request: NormalizedRequest; turn: SentTurn; sentAt: number; started: boolean }> = [];
  let ended = false;
  /** Where the span of the session's next usage record starts. */
  let since = Date.now();

  const abandon = (request: NormalizedRequest, turn: SentTurn, sentAt: number): Promise<void> => {
    const estimate = turn.abandoned?.();
    turn.settle();
    if (!estimate) return Promise.resolve();
    return deps.record(sentAt, { decision: 'forwarded', model: request.model, estimatedUsage: { ...estimate.usage, costUsd: estimate.costUsd }, findings: [] });
  };

  /**
   * Charges the session's usage and, in the same synchronous step, asks whether its key's windows are now used
   * up; only then are the records written. A record that cannot be written never keeps a session open: its error
   * goes with the close (the relay logs it), or, with no close, rejects as before.
   */
  const chargeSession = async (usage: TokenUsage): Promise<SessionClose | undefined> => {
    const request = governing;
    if (!request) return undefined;
    const note = deps.charge(request, usage);
    if (!note) return undefined;
    const started = since;
    since = Date.now();
    const refusal = deps.usedUp(request);
    const recorded = deps.record(started, { decision: 'forwarded', model: request.model, usage: note.usage, costUsd: note.costUsd, findings: [] });
    if (!refusal) {
      await recorded;
      return undefined;
    }
    const close: SessionClose = { code: POLICY_VIOLATION, reason: refusal.message };
    // In order: the charge, then the close it caused.
    const closing = () => deps.record(Date.now(), {
      via: 'edge', decision: 'blocked', model: request.model, status: refusal.status, errorType: refusal.type, message: refusal.message, findings: [],
    });
    for (const write of [() => recorded, closing]) {
      try {
        await write();
      } catch (err) {
        close.recordError ??= err as Error;
      }
    }
    // A socket closed meanwhile needs no close.
    return ended ? undefined : close;
  };

  return {
    govern(request) {
      governing = request;
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
          return chargeSession(event.usage);
        case 'turn-started': {
          const next = turns.find((t) => !t.started);
          if (next) next.started = true;
          return undefined;
        }
        case 'error': {
          // Refused before its response started: it ends without usage. An error mid-response is followed by its end.
          const index = turns.findIndex((t) => !t.started);
          if (index === -1) return undefined;
          const [refused] = turns.splice(index, 1);
          refused!.turn.settle();
          return undefined;
        }
        case 'turn-ended': {
          const answered = turns.shift();
          if (!answered) return undefined;
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

    async closed() {
      if (ended) return;
      ended = true;
      const unanswered = turns;
      turns = [];
      governing = undefined;
      await Promise.all(unanswered.map(({ request, turn, sentAt }) => abandon(request, turn, sentAt)));
    },
  };
}
