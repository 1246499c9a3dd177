import { describe, expect, it } from 'vitest';
import { highestRateWithin, openLoopLatency, poissonArrivals, runOpenLoop, summarizeWindows } from '../../bench/open-loop.js';
import { createRng } from '../guardrails/corpus/fake-data.js';

/** Seeded, so the arrival checks do not depend on luck. */
const seeded = createRng;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('poissonArrivals', () => {
  it('offers the asked rate, in order, inside the window', () => {
    const times = poissonArrivals(1000, 10_000, seeded(7));
    expect(times.length).toBeGreaterThan(9_700);
    expect(times.length).toBeLessThan(10_300);
    expect(times.every((t, i) => t >= 0 && t < 10_000 && (i === 0 || t >= times[i - 1]!))).toBe(true);
  });

  it('has exponential gaps: about 37 % of them are longer than the mean', () => {
    const times = poissonArrivals(100, 200_000, seeded(11));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const longer = gaps.filter((g) => g > 10).length / gaps.length;
    expect(longer).toBeGreaterThan(0.34);
    expect(longer).toBeLessThan(0.40);
  });

  it('refuses a rate or window that is not positive', () => {
    expect(() => poissonArrivals(0, 1000)).toThrow(/positive rate/);
    expect(() => poissonArrivals(10, -1)).toThrow(/positive rate/);
    expect(() => poissonArrivals(Number.NaN, 1000)).toThrow(/positive rate/);
  });
});

describe('openLoopLatency', () => {
  it("leaves out this process's own timer lateness when the client was free", () => {
    expect(openLoopLatency(10, 12, 15, 5)).toBe(3);
  });

  it('counts the wait for the previous answer when that answer came after the request was due', () => {
    expect(openLoopLatency(10, 11, 15, 11)).toBe(5);
  });
});

describe('runOpenLoop', () => {
  it('times a slow server from when requests were due, so queueing shows', async () => {
    const latencies: number[] = [];
    // One client due every ~2 ms on average, each answer taking 10 ms: the backlog must grow.
    const sent = await runOpenLoop({ senders: [() => sleep(10)], ratePerSecond: 500, durationMs: 100, record: (ms) => latencies.push(ms), random: seeded(3) });
    expect(sent).toBe(latencies.length);
    expect(sent).toBeGreaterThan(20);
    expect(Math.max(...latencies)).toBeGreaterThan(100);
    expect(latencies[latencies.length - 1]!).toBeGreaterThan(latencies[0]! * 5);
  });

  it('never has two requests of one client in flight, and runs every client', async () => {
    const inFlight = [0, 0, 0, 0];
    let overlap = false;
    const calls = [0, 0, 0, 0];
    const senders = inFlight.map((_, i) => async () => {
      calls[i]!++;
      if (++inFlight[i]! > 1) overlap = true;
      await sleep(3);
      inFlight[i]!--;
    });
    const latencies: number[] = [];
    await runOpenLoop({ senders, ratePerSecond: 2000, durationMs: 50, record: (ms) => latencies.push(ms), random: seeded(5) });
    expect(overlap).toBe(false);
    expect(calls.every((n) => n > 5)).toBe(true);
    expect(latencies.every((ms) => ms >= 2)).toBe(true);
  });
});

describe('highestRateWithin', () => {
  const at = (ratePerSecond: number, addedP50Ms: number, addedP99Ms: number) => ({ ratePerSecond, addedP50Ms, addedP99Ms });

  it('is the last rate of the unbroken run that meets both targets', () => {
    expect(highestRateWithin([at(500, 0.8, 4), at(250, 0.5, 2), at(1000, 1.4, 9)], 1, 5)).toBe(500);
  });

  it('does not count a lucky pass above a failure', () => {
    expect(highestRateWithin([at(250, 0.5, 2), at(500, 0.9, 6), at(1000, 0.9, 4)], 1, 5)).toBe(250);
  });

  it('is 0 when even the lowest rate misses a target', () => {
    expect(highestRateWithin([at(250, 1.2, 2)], 1, 5)).toBe(0);
    expect(highestRateWithin([], 1, 5)).toBe(0);
  });
});

describe('summarizeWindows', () => {
  const steady = (n: number, ms: number) => Array.from({ length: n }, (_, i) => ms + (i % 10) / 100);

  it('keeps a tail that shows in every window', () => {
    const windows = Array.from({ length: 5 }, () => [...steady(98, 1), 9, 9]);
    const summary = summarizeWindows(windows);
    expect(summary.window_p99_ms).toBe(9);
    expect(summary.p99_ms).toBe(9);
    expect(summary.n).toBe(500);
  });

  it('drops a stall that hit one window, which the pooled p99 keeps', () => {
    const windows = [...Array.from({ length: 5 }, () => steady(100, 1)), [...steady(90, 1), ...Array<number>(10).fill(60)]];
    const summary = summarizeWindows(windows);
    expect(summary.p99_ms).toBe(60);
    expect(summary.window_p99_ms).toBeLessThan(1.1);
    expect(summary.p50_ms).toBeLessThan(1.1);
  });
});
