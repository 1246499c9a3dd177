import type { Writable } from 'node:stream';

/**
 * Writes whole lines to a stream, one `write` call per message, so two relays sharing a destination (the
 * server's answers and the wrapper's own refusals, both bound for the client) interleave only between
 * messages. Each write waits for 'drain' when the destination is full: that is what pauses the source.
 */
export class LineWriter {
  private broken: Error | undefined;
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly stream: Writable, private readonly onError: (err: Error) => void) {
    stream.on('error', (err: Error) => {
      // A peer that went away (EPIPE) is reported once; later writes are dropped.
      if (this.broken) return;
      this.broken = err;
      onError(err);
    });
  }

  /** Resolves when the destination can take more (not necessarily when the bytes left the process). */
  write(line: Buffer | string): Promise<void> {
    if (this.broken || this.stream.destroyed || this.stream.writableEnded) return Promise.resolve();
    const data = typeof line === 'string' ? Buffer.from(`${line}\n`) : Buffer.concat([line, NEWLINE]);
    this.last = new Promise<void>((resolve) => this.stream.write(data, () => resolve()));
    if (this.stream.writableNeedDrain) return new Promise<void>((resolve) => this.waitForDrain(resolve));
    return Promise.resolve();
  }

  /** Every accepted line has been handed to the OS (or the destination failed). */
  flushed(): Promise<void> {
    return this.last;
  }

  end(): void {
    if (!this.broken && !this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  private waitForDrain(resolve: () => void): void {
    const done = () => {
      this.stream.off('drain', done);
      this.stream.off('close', done);
      resolve();
    };
    this.stream.on('drain', done);
    this.stream.on('close', done);
  }
}

const NEWLINE = Buffer.from('\n');
