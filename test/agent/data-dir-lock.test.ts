import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE } from '../../src/data-dir-lock.js';

/**
 * A lock left behind must never keep Edge from starting for good: the pid it names may be this very
 * process (a container where the agent is always pid 1), or, after a reboot, some unrelated process.
 * A lock of an agent that is really running (same boot, other pid) still refuses.
 */

const children: ChildProcess[] = [];
afterEach(() => {
  while (children.length > 0) children.pop()!.kill('SIGKILL');
});

/** A real process that stays alive until the test ends, standing in for another agent. */
async function aliveProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
  return child.pid!;
}

const thisBoot = () => Date.now() - os.uptime() * 1000;

function dataDirWithLock(content: string): { dataDir: string; file: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-lock-'));
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  fs.writeFileSync(file, content);
  return { dataDir, file };
}

const ownerPid = (file: string) => Number.parseInt(fs.readFileSync(file, 'utf8'), 10);

describe('the data dir lock', () => {
  it('a lock naming this process itself is stale (the same pid on every start) and is taken over', () => {
    const { dataDir, file } = dataDirWithLock(`${process.pid}\n${Math.round(thisBoot())}\n`);
    const lock = acquireDataDirLock(dataDir);
    expect(ownerPid(file)).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a lock from before the last boot is stale even though its pid now belongs to a running process', async () => {
    const unrelated = await aliveProcess();
    const { dataDir, file } = dataDirWithLock(`${unrelated}\n${Math.round(thisBoot() - 3_600_000)}\n`);
    const lock = acquireDataDirLock(dataDir);
    expect(ownerPid(file)).toBe(process.pid);
    lock.release();
  });

  it('a lock of another running process from this boot still refuses, naming it', async () => {
    const other = await aliveProcess();
    const { dataDir, file } = dataDirWithLock(`${other}\n${Math.round(thisBoot())}\n`);
    expect(() => acquireDataDirLock(dataDir)).toThrow(`another Bifrost Edge is using ${dataDir} (pid ${other})`);
    expect(ownerPid(file)).toBe(other);
  });

  it('records the boot it was taken in, so the next boot can tell the lock is stale', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-lock-'));
    const lock = acquireDataDirLock(dataDir);
    const [pid, boot] = fs.readFileSync(path.join(dataDir, DATA_DIR_LOCK_FILE), 'utf8').split('\n');
    expect(Number(pid)).toBe(process.pid);
    expect(Math.abs(Number(boot) - thisBoot())).toBeLessThan(60_000);
    lock.release();
  });
});
