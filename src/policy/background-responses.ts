import type { NormalizedRequest } from '../providers/types.js';

/**
 * Requests whose work the provider goes on with after their answer ended (a background Responses request, an
 * Assistants run; background-jobs.ts), remembered by the id of what they started until its usage is known.
 *
 * Their answer said `queued` or `in_progress` and reported no usage; the usage comes with the object's final state
 * when the client fetches it back (a poll, a resumed stream, a cancel). That fetch is a retrieval, which is never
 * charged (response-meter.ts generatesAnswer): the usage is charged instead to the request remembered here, once,
 * the first time a final state is seen. Until then the request keeps its policy ticket (its key, its route and the
 * bundle's prices when it was decided).
 *
 * Bounded, so a client that never polls does not hold a ticket for good: an entry is given up `timeoutMs` after it
 * was remembered (an hour by default), and the oldest when `maxPending` are held; a given-up request is charged
 * Edge's estimate, as a request the client abandoned is (enforcer.ts). In memory only: Edge stopping gives every
 * entry up the same way (the agent asks it to, before the audit trail closes), so after a restart nothing is
 * waited for, and a poll of a response started before it is a retrieval like any other.
 */

export interface BackgroundJob {
  request: NormalizedRequest;
  /** Answer text already seen (a background stream the client left early), counted into the estimate if given up. */
  outputTokens: number;
  /** The model the first answer named: prices the estimate of a request naming none. */
  answeredModel?: string;
}

export const DEFAULT_BACKGROUND_TIMEOUT_MS = 60 * 60_000;
export const DEFAULT_MAX_PENDING_BACKGROUND = 10_000;

export interface BackgroundResponsesOptions {
  timeoutMs?: number;
  maxPending?: number;
  /** An entry was given up (timed out, crowded out, or Edge is stopping): its request is charged the estimate. */
  onGivenUp: (id: string, job: BackgroundJob) => void;
}

export class BackgroundResponses {
  private readonly pending = new Map<string, { id: string; job: BackgroundJob; timer: NodeJS.Timeout }>();
  private readonly timeoutMs: number;
  private readonly maxPending: number;

  constructor(private readonly options: BackgroundResponsesOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BACKGROUND_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_BACKGROUND;
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Remembers the request that started `id` at `provider`. False when something already waits under that id: a
   * request continuing the same run (submitting tool outputs) adds nothing, the run's usage covers all of it.
   */
  remember(provider: string, id: string, job: BackgroundJob): boolean {
    const key = keyOf(provider, id);
    if (this.pending.has(key)) return false;
    while (this.pending.size >= this.maxPending) {
      const [oldest] = this.pending.keys();
      if (oldest === undefined) break;
      this.giveUp(oldest);
    }
    const timer = setTimeout(() => this.giveUp(key), this.timeoutMs);
    // A timer must not keep a stopping process alive: Edge stopping gives every entry up itself.
    timer.unref();
    this.pending.set(key, { id, job, timer });
    return true;
  }

  /** The request that started `id`, forgotten from now on: its final state was seen. */
  take(provider: string, id: string): BackgroundJob | undefined {
    const key = keyOf(provider, id);
    const entry = this.pending.get(key);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(key);
    return entry.job;
  }

  /** Gives every entry up (Edge is stopping). */
  giveUpAll(): void {
    for (const key of [...this.pending.keys()]) this.giveUp(key);
  }

  private giveUp(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
    this.options.onGivenUp(entry.id, entry.job);
  }
}

/** Ids are the provider's: the same id at two providers names two objects. */
function keyOf(provider: string, id: string): string {
  return `${provider}\u0000${id}`;
}
