import type { Logger } from '../../log.js';
import { POLICY_EVENT_NAME } from '../protocol/paths.js';
import { PolicyEventSchema, type PolicyEvent } from '../protocol/policy-sync.js';
import { backoffDelayMs, type BackoffSettings } from './backoff.js';
import { ControlRequestError } from './control-api.js';
import type { Sleeper } from './sleeper.js';
import { SseEventTooLargeError, SseParser } from './sse-parser.js';

export interface PolicyStreamFollowerOptions {
  /** Opens GET /api/edge/v1/policy/stream; aborting the signal closes it. */
  open: (signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;
  onPolicyEvent: (event: PolicyEvent) => void;
  /** The stream went down (or never came up): a version may be missed meanwhile, so catch up. */
  onDisconnected: () => void;
  backoff: BackoffSettings;
  /** No byte (event or heartbeat comment) for this long means the stream is dead. */
  idleMs: number;
  /**
   * A stream that stayed up this long was healthy: the next reconnect starts the backoff over.
   * Shorter-lived ones (a server or proxy that accepts and closes at once) keep backing off.
   * Default 60 000.
   */
  stableMs?: number;
  sleeper: Sleeper;
  log: Logger;
}

export type StreamEnd = { reason: 'stopped' } | { reason: 'unauthorized'; message: string };

/**
 * Keeps the push stream open: reconnects with exponential backoff and jitter after any failure,
 * treats a silent stream as dead, and stops for good on `stop()` or when the server no longer
 * accepts the device credential (the caller re-enrolls).
 */
export class PolicyStreamFollower {
  private stopped = false;
  private abort: AbortController | undefined;
  private connectedNow = false;

  constructor(private readonly options: PolicyStreamFollowerOptions) {}

  get connected(): boolean {
    return this.connectedNow;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  async run(): Promise<StreamEnd> {
    const { log } = this.options;
    for (let attempt = 0; !this.stopped; attempt++) {
      const abort = new AbortController();
      this.abort = abort;
      let idle: NodeJS.Timeout | undefined;
      const touch = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => abort.abort(new Error(`no event or heartbeat for ${this.options.idleMs} ms`)), this.options.idleMs);
      };
      let openedAt: number | undefined;
      try {
        // Armed before opening: a server or proxy that never sends response headers is as dead as a
        // silent stream (aborting the signal fails the pending open).
        touch();
        const body = await this.options.open(abort.signal);
        this.connectedNow = true;
        openedAt = Date.now();
        log.info('policy push stream connected');
        touch();
        const parser = new SseParser((event) => this.dispatch(event.event, event.data), touch);
        const decoder = new TextDecoder();
        for await (const chunk of body) {
          touch();
          parser.feed(decoder.decode(chunk, { stream: true }));
        }
        if (!this.stopped) log.warn('the control server closed the policy push stream');
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof ControlRequestError && err.status === 401) return { reason: 'unauthorized', message: err.message };
        if (err instanceof SseEventTooLargeError) {
          log.warn(`closing the policy push stream: ${err.message}`);
        } else {
          const reason = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : (err as Error).message;
          log.warn(`policy push stream unavailable: ${reason}`);
        }
      } finally {
        if (idle) clearTimeout(idle);
        // Closes the connection whatever ended the stream (leaving the loop cancels the body too).
        abort.abort();
        this.connectedNow = false;
      }
      // Only a stream that stayed up resets the backoff: one that opens and drops at once must not
      // make every device reconnect (and re-fetch its policy) every second forever.
      if (openedAt !== undefined && Date.now() - openedAt >= (this.options.stableMs ?? 60_000)) attempt = 0;
      if (this.stopped) break;
      const delay = backoffDelayMs(attempt, this.options.backoff);
      log.info(`reconnecting the policy push stream in ${Math.round(delay)} ms; polling meanwhile`);
      this.options.onDisconnected();
      await this.options.sleeper.sleep(delay);
    }
    return { reason: 'stopped' };
  }

  private dispatch(name: string, data: string): void {
    if (name !== POLICY_EVENT_NAME) return;
    let event: PolicyEvent;
    try {
      event = PolicyEventSchema.parse(JSON.parse(data));
    } catch {
      this.options.log.warn('ignoring a malformed policy event on the push stream');
      return;
    }
    this.options.onPolicyEvent(event);
  }
}
