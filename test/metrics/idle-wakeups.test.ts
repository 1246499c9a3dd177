import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const metricsModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/metrics/metrics.js');

/** Voluntary context switches of a fresh process over 2 s of doing nothing but holding `setup`. */
function idleSwitches(setup: string): number {
  const script = `${setup}
    await new Promise((r) => setTimeout(r, 300));
    const before = process.resourceUsage().voluntaryContextSwitches;
    await new Promise((r) => setTimeout(r, 2000));
    console.log(process.resourceUsage().voluntaryContextSwitches - before);
    process.exit(0);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`child failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

describe('metrics on an idle agent', () => {
  it('do not wake the process 100 times a second (a laptop must be able to sleep)', () => {
    const withEdgeMetrics = idleSwitches(`const { createEdgeMetrics } = await import(${JSON.stringify(metricsModule)}); globalThis.keep = createEdgeMetrics();`);
    // What prom-client's default 10 ms event-loop sampler costs, measured the same way, for scale.
    const withDefaultSampler = idleSwitches(`const { collectDefaultMetrics, Registry } = await import('prom-client'); collectDefaultMetrics({ register: new Registry() });`);
    expect(withDefaultSampler).toBeGreaterThan(100);
    expect(withEdgeMetrics).toBeLessThan(40);
  });
});
