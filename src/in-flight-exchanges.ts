import type { Exchange } from './proxy/exchange.js';

/**
 * What the proxy is in the middle of, so a shutdown can finish it instead of cutting it off: exchanges
 * count from their arrival until their response closes, and every audit record write is tracked until
 * it is durable. While draining, new exchanges and tunnels are refused (nothing new is started that
 * the shutdown would then cut off after tokens were spent).
 */
export class InFlightExchanges {
  private readonly open = new Set<Exchange>();
  private readonly pendingRecords = new Set<Promise<unknown>>();
  private draining = false;
  private onIdle: (() => void) | undefined;

  get isDraining(): boolean {
    return this.draining;
  }

  /** Wraps the proxy's exchange handler: tracks each exchange, and refuses new ones while draining. */
  wrap(handle: (exchange: Exchange) => void): (exchange: Exchange) => void {
    return (exchange) => {
      if (this.draining) {
        refuseWhileShuttingDown(exchange);
        return;
      }
      this.open.add(exchange);
      exchange.res.once('close', () => {
        this.open.delete(exchange);
        if (this.open.size === 0) this.onIdle?.();
      });
      handle(exchange);
    };
  }

  /** Tracks a record write until it settles (the shutdown closes the audit trail only after it). */
  trackRecord<T>(write: Promise<T>): Promise<T> {
    this.pendingRecords.add(write);
    const forget = () => this.pendingRecords.delete(write);
    write.then(forget, forget);
    return write;
  }

  /**
   * Stops taking new exchanges and waits until the open ones have finished, or `graceMs` passed.
   * Returns how many were still open then (the caller cuts them off).
   */
  async drain(graceMs: number): Promise<number> {
    this.draining = true;
    if (this.open.size > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onIdle = undefined;
    }
    return this.open.size;
  }

  /**
   * Resolves once every exchange has closed and every record write has settled, including the writes
   * of exchanges cut off just before (a cut exchange writes its record in its response's 'close'), or
   * after `maxMs` whatever is left (a shutdown must end). Returns whether everything settled.
   */
  async settled(maxMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), maxMs); });
    try {
      return await Promise.race([this.everythingSettled(), timedOut]);
    } finally {
      clearTimeout(timer);
      this.onIdle = undefined;
    }
  }

  private async everythingSettled(): Promise<true> {
    for (;;) {
      // A response's 'close' listeners (the forwarder's, which finishes the record) run within a turn.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.open.size === 0 && this.pendingRecords.size === 0) return true;
      if (this.open.size > 0) {
        await new Promise<void>((resolve) => {
          this.onIdle = resolve;
          if (this.open.size === 0) resolve();
        });
        this.onIdle = undefined;
      }
      await Promise.allSettled([...this.pendingRecords]);
    }
  }
}

/** The CONNECT refusal while shutting down (the tunnel would be cut off moments later). */
export const SHUTTING_DOWN_REFUSAL = {
  status: 503,
  message: 'Bifrost Edge is shutting down, so this connection was not opened. Try again once Bifrost Edge is running again.',
};

function refuseWhileShuttingDown(exchange: Exchange): void {
  const body = 'Bifrost Edge is shutting down, so this request was not sent. Try again once Bifrost Edge is running again.\n';
  exchange.res.writeHead(503, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': '5',
    connection: 'close',
  });
  exchange.res.end(body);
}
