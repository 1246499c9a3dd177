/**
 * Open-loop load: clients send at times drawn in advance (a Poisson process per client), whether or
 * not the proxy keeps up, so latency is what a request meets at a given offered rate.
 *
 * Why not only a closed loop (each client sends again the moment its answer arrives): with 64 such
 * clients the client, the origin and the proxy saturate this machine's cores, and latency is then just
 * 64 ÷ throughput. That measures capacity, not the delay a person feels at a given load. Open-loop
 * timing (as wrk2 does it) keeps queueing honest too: a request that had to wait for its client's
 * previous, slow answer is timed from when it was due, not from when it could finally go.
 */

import { median, percentile, round } from './stats.js';

/** Arrival times (ms from the start) of a Poisson process with `ratePerSecond`, within `durationMs`. */
export function poissonArrivals(ratePerSecond: number, durationMs: number, random: () => number = Math.random): number[] {
  if (!(ratePerSecond > 0) || !(durationMs > 0)) throw new Error(`poissonArrivals needs a positive rate and duration (got ${ratePerSecond}/s for ${durationMs} ms)`);
  const meanGapMs = 1000 / ratePerSecond;
  const times: number[] = [];
  // Exponential gaps; 1 - random() is in (0, 1], so the log is finite.
  for (let t = -Math.log(1 - random()) * meanGapMs; t < durationMs; t += -Math.log(1 - random()) * meanGapMs) times.push(t);
  return times;
}

/**
 * How long a request counts as taking. Due at `dueAt`, sent at `sentAt`, answered at `doneAt`, with
 * the client's previous answer back at `previousDoneAt`. If that previous answer came after the due
 * time, the wait for it is the proxy's doing and counts. Otherwise any gap between due and sent is
 * this process's own timer lateness and does not.
 */
export function openLoopLatency(dueAt: number, sentAt: number, doneAt: number, previousDoneAt: number): number {
  return doneAt - (previousDoneAt > dueAt ? dueAt : sentAt);
}

export interface OpenLoopOptions {
  /** One sender per keep-alive client; a client never has two requests in flight. */
  senders: Array<() => Promise<void>>;
  ratePerSecond: number;
  durationMs: number;
  record: (latencyMs: number) => void;
  random?: () => number;
}

/** Runs every client's schedule to the end (including requests that fall behind) and returns how many were sent. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<number> {
  const { senders, ratePerSecond, durationMs, record } = options;
  const perClientRate = ratePerSecond / senders.length;
  const start = performance.now();
  let sent = 0;
  const runClient = async (send: () => Promise<void>) => {
    let previousDoneAt = -Infinity;
    for (const offset of poissonArrivals(perClientRate, durationMs, options.random)) {
      const dueAt = start + offset;
      const wait = dueAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = performance.now();
      await send();
      const doneAt = performance.now();
      record(openLoopLatency(dueAt, sentAt, doneAt, previousDoneAt));
      previousDoneAt = doneAt;
      sent++;
    }
  };
  await Promise.all(senders.map(runClient));
  return sent;
}

export interface RateResult {
  ratePerSecond: number;
  addedP50Ms: number;
  addedP99Ms: number;
}

/**
 * The highest offered rate at which a mode stayed within both targets, counting only an unbroken run
 * from the lowest rate (a lucky pass above a failure is noise, not capacity). 0 when even the lowest failed.
 */
export function highestRateWithin(results: RateResult[], maxAddedP50Ms: number, maxAddedP99Ms: number): number {
  let best = 0;
  for (const r of [...results].sort((a, b) => a.ratePerSecond - b.ratePerSecond)) {
    if (!(r.addedP50Ms <= maxAddedP50Ms && r.addedP99Ms <= maxAddedP99Ms)) break;
    best = r.ratePerSecond;
  }
  return best;
}

export interface WindowedLatency {
  p50_ms: number;
  /** Over every sample pooled: one hypervisor stall in one window can decide it. */
  p99_ms: number;
  /** The median of each window's own p99: the tail of a typical window. */
  window_p99_ms: number;
  n: number;
}

/**
 * Latency of one mode measured in several short windows. Stalls of a noisy machine (the hypervisor
 * descheduling a core for tens of ms) land in random windows; the median of the per-window p99 keeps
 * the tail a proxy causes in every window and drops the ones a stall caused in a few.
 */
export function summarizeWindows(windows: number[][]): WindowedLatency {
  const pooled = windows.flat();
  const windowP99s = windows.filter((w) => w.length > 0).map((w) => percentile(w, 99));
  return { p50_ms: round(median(pooled)), p99_ms: round(percentile(pooled, 99)), window_p99_ms: round(median(windowP99s)), n: pooled.length };
}
