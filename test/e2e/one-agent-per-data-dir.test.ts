import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';

/**
 * Two `bifrost-edge run` on one data dir would share its databases, and the second would overwrite
 * runtime.json (then `status` and `mcp wrap` reach the wrong agent, or none once either stops).
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(dataDir: string): Promise<EdgeProcess> {
  const edge = await startEdgeProcess({ dataDir, config: { metrics: { port: null } } });
  cleanups.push(() => edge.stop('SIGKILL'));
  return edge;
}

const runtimePid = (dataDir: string): number | undefined => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};

describe('one agent per data dir', () => {
  it('a second agent on the same data dir refuses to start, naming the first; the first keeps its runtime.json', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-one-agent-'));
    const first = await start(dataDir);
    // Should it start anyway, it is stopped like the others.
    const second = start(dataDir);
    await expect(second).rejects.toThrow(new RegExp(`exited with 1 before ready[\\s\\S]*another Bifrost Edge is using ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid ${first.child.pid}\\)`));
    expect(runtimePid(dataDir)).toBe(first.child.pid);
    expect(await first.stop()).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'agent.lock'))).toBe(false);
  });

  it('the lock of an agent killed with SIGKILL is taken over by the next one', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-one-agent-'));
    const killed = await start(dataDir);
    await killed.stop('SIGKILL');
    expect(fs.readFileSync(path.join(dataDir, 'agent.lock'), 'utf8').split('\n')[0]).toBe(String(killed.child.pid));
    const next = await start(dataDir);
    expect(runtimePid(dataDir)).toBe(next.child.pid);
    expect(fs.readFileSync(path.join(dataDir, 'agent.lock'), 'utf8').split('\n')[0]).toBe(String(next.child.pid));
    expect(await next.stop()).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'agent.lock'))).toBe(false);
  });
});
