import type { NormalizedRequest } from '../providers/types.js';

/**
 * Requests whose work the provider goes on with after their answer ended (a background Responses request, an
 * Assistants run; background-jobs.ts), remembered by the id of what they started until its usage is known.
 *
 * Their answer said `queued` or `in_progress` and reported no usage; the usage comes with the object's final state
 * when the client fetches it back (a poll, a resumed stream, a cancel). That fetch is a retrieval, which is never
 * charged (response-meter.ts generatesAnswer): the usage is charged instead to the request remembered here, once,
 * the first time a final state is seen. Until then the request keeps its policy ticket (its key, its route and the
 * bundle's prices when it was decided) and its prompt's hold (in-flight.ts, held as long as the entry may wait).
 *
 * Bounded, so a client that never polls does not hold a ticket for good: an entry is given up `timeoutMs` after it
 * was remembered (an hour by default); when `maxPerKey` entries of one virtual key are held, that key's oldest;
 * when `maxPending` are held in all, the oldest of any key. The per-key bound keeps one key's flood of cheap
 * requests from crowding out another key's entries. A given-up request is charged its worst case (enforcer.ts,
 * background-output-cap.ts): the prompt and the most answer it allowed itself, since its answer may well have
 * been read another way (a conversation's items, a webhook) and is never fetched back here; charging only the
 * prompt would let that answer go free, and would make crowding an expensive entry out worth a client's while.
 * In memory only: Edge stopping gives every entry up the same way (the agent asks it to, before the audit trail
 * closes), so after a restart nothing is waited for, and a poll of a response started before it is a retrieval
 * like any other.
 */

export interface BackgroundJob {
  request: NormalizedRequest;
  /** The virtual key it is charged to: each key holds at most `maxPerKey` entries. */
  keyId: string;
  /**
   * Answer tokens already seen: of a background stream the client left early, and the most any later fetch of the
   * work carried (a poll in progress, a cancel's answer). Charged when its final state reports no usage.
   */
  outputTokens: number;
  /** The request's own bound on its answer (`max_output_tokens`, `max_completion_tokens`), when it set one. */
  outputCap?: number;
  /** The model the first answer named: prices the estimate of a request naming none. */
  answeredModel?: string;
}

export const DEFAULT_BACKGROUND_TIMEOUT_MS = 60 * 60_000;
export const DEFAULT_MAX_PENDING_BACKGROUND = 10_000;

export interface BackgroundResponsesOptions {
  timeoutMs?: number;
  maxPending?: number;
  /** Entries one virtual key may hold; default a tenth of `maxPending` (1,000), at least one. */
  maxPerKey?: number;
  /** An entry was given up (timed out, crowded out, or Edge is stopping): its request is charged its worst case. */
  onGivenUp: (id: string, job: BackgroundJob) => void;
}

export class BackgroundResponses {
  /** In the order remembered: the first is the oldest. */
  private readonly pending = new Map<string, { id: string; job: BackgroundJob; timer: NodeJS.Timeout }>();
  /** The entries of each virtual key, oldest first. */
  private readonly byKey = new Map<string, Set<string>>();
  readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly maxPerKey: number;

  constructor(private readonly options: BackgroundResponsesOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BACKGROUND_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_BACKGROUND;
    this.maxPerKey = options.maxPerKey ?? Math.max(1, Math.floor(this.maxPending / 10));
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
    // The key's own oldest first: its flood gives up its own entries, not another key's.
    const ofKey = this.byKey.get(job.keyId);
    while (ofKey && ofKey.size >= this.maxPerKey) {
      const [oldest] = ofKey;
      if (oldest === undefined) break;
      this.giveUp(oldest);
    }
    while (this.pending.size >= this.maxPending) {
      const [oldest] = this.pending.keys();
      if (oldest === undefined) break;
      this.giveUp(oldest);
    }
    const timer = setTimeout(() => this.giveUp(key), this.timeoutMs);
    // A timer must not keep a stopping process alive: Edge stopping gives every entry up itself.
    timer.unref();
    this.pending.set(key, { id, job, timer });
    let entries = this.byKey.get(job.keyId);
    if (!entries) {
      entries = new Set();
      this.byKey.set(job.keyId, entries);
    }
    entries.add(key);
    return true;
  }

  /**
   * A fetch of `id` carried `outputTokens` of answer (each carries the output so far, not what is new): the most
   * seen is what its request is charged if its final state reports no usage.
   */
  noteAnswer(provider: string, id: string, outputTokens: number): void {
    const job = this.pending.get(keyOf(provider, id))?.job;
    if (job && outputTokens > job.outputTokens) job.outputTokens = outputTokens;
  }

  /** The request that started `id`, forgotten from now on: its final state was seen. */
  take(provider: string, id: string): BackgroundJob | undefined {
    const key = keyOf(provider, id);
    const entry = this.pending.get(key);
    if (!entry) return undefined;
    this.forget(key, entry);
    return entry.job;
  }

  /** Gives every entry up (Edge is stopping). */
  giveUpAll(): void {
    for (const key of [...this.pending.keys()]) this.giveUp(key);
  }

  private giveUp(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.forget(key, entry);
    this.options.onGivenUp(entry.id, entry.job);
  }

  private forget(key: string, entry: { job: BackgroundJob; timer: NodeJS.Timeout }): void {
    clearTimeout(entry.timer);
    this.pending.delete(key);
    const entries = this.byKey.get(entry.job.keyId);
    entries?.delete(key);
    if (entries?.size === 0) this.byKey.delete(entry.job.keyId);
  }
}

/** Ids are the provider's: the same id at two providers names two objects. */
function keyOf(provider: string, id: string): string {
  return `${provider}\u0000${id}`;
}
