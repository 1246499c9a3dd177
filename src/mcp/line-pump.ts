import type { Readable } from 'node:stream';
import { LineSplitter, type SplitItem } from './line-splitter.js';

/**
 * Feeds a stream's lines, in order and one at a time, to an async handler (which may ask the agent, then
 * write). Backpressure: while more than `highWaterBytes` wait unhandled, the source is paused, so a slow
 * destination or a slow decision holds the sender back instead of filling memory.
 * Resolves when the source has ended and every line has been handled.
 */
export function pumpLines(source: Readable, options: { maxLineBytes: number; highWaterBytes?: number; handle: (item: SplitItem) => Promise<void> }): Promise<void> {
  const splitter = new LineSplitter(options.maxLineBytes);
  const highWater = options.highWaterBytes ?? 1024 * 1024;
  const queue: SplitItem[] = [];
  let queuedBytes = 0;
  let ended = false;
  let running = false;

  return new Promise<void>((resolve, reject) => {
    const enqueue = (items: SplitItem[]) => {
      for (const item of items) {
        queue.push(item);
        queuedBytes += sizeOf(item);
      }
      if (queuedBytes > highWater && !source.isPaused()) source.pause();
      void drain();
    };
    const drain = async () => {
      if (running) return;
      running = true;
      try {
        while (queue.length > 0) {
          const item = queue.shift()!;
          await options.handle(item);
          queuedBytes -= sizeOf(item);
          if (queuedBytes <= highWater / 2 && source.isPaused() && !ended) source.resume();
        }
      } catch (err) {
        reject(err as Error);
        return;
      } finally {
        running = false;
      }
      if (ended) resolve();
    };
    source.on('data', (chunk: Buffer | string) => enqueue(splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
    source.once('end', () => {
      ended = true;
      enqueue(splitter.end());
    });
    // A source that fails (the peer's pipe broke), or that we destroyed, ends the relay like an end of input.
    const stopped = () => {
      if (ended) return;
      ended = true;
      enqueue([]);
    };
    source.once('error', stopped);
    source.once('close', stopped);
  });
}

function sizeOf(item: SplitItem): number {
  return item.kind === 'line' ? item.line.length : 0;
}
