import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file's name inside the data dir; it holds the owner's pid and the boot it runs in. */
export const DATA_DIR_LOCK_FILE = 'agent.lock';

/**
 * How far two readings of the boot time may differ and still be the same boot: `Date.now() -
 * os.uptime()` drifts with clock adjustments (NTP) and uptime's rounding, but a reboot moves it by
 * much more than this.
 */
const SAME_BOOT_TOLERANCE_MS = 60_000;

export interface DataDirLock {
  /** Removes the lock, if it is still this process's. */
  release(): void;
}

/**
 * Makes this process the only agent using `dataDir`. A second agent on the same data dir would
 * share its databases and overwrite runtime.json, so `status` and `mcp wrap` would reach the wrong
 * one. A lock left behind is taken over when its owner cannot be running: its pid no longer runs
 * (SIGKILL), it names this very process (a container where the agent is always pid 1), or it was
 * taken before the last boot (power loss; the pid may now be any process).
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  const mine = `${process.pid}\n${Math.round(bootTime())}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      return { release: () => releaseDataDirLockIfMine(dataDir) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`cannot create the lock file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that the data dir is writable.`);
      }
    }
    const held = readLock(file);
    if (held === undefined) continue; // removed meanwhile: try again
    const owner = parseLock(held);
    if (owner && ownerMayBeRunning(owner)) {
      throw new Error(`another Bifrost Edge is using ${dataDir} (pid ${owner.pid}). Stop it first, or give this one another --data-dir. If no Bifrost Edge is running, delete ${file}.`);
    }
    // Stale: its agent is gone. Removed only if it still says the same (another starter may have taken it over).
    if (readLock(file) === held) fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: other processes keep taking it. Make sure only one Bifrost Edge starts on ${dataDir}.`);
}

/**
 * Removes `dataDir`'s lock if this process holds it. Synchronous, so it also works on the way out of
 * `process.exit()`, where a clean shutdown is skipped.
 */
export function releaseDataDirLockIfMine(dataDir: string): void {
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  const held = readLock(file);
  if (held !== undefined && parseLock(held)?.pid === process.pid) fs.rmSync(file, { force: true });
}

interface LockOwner {
  pid: number;
  /** When the owner's machine booted (ms since the epoch); absent in locks written before it was recorded. */
  bootedAt?: number;
}

function parseLock(content: string): LockOwner | undefined {
  const [pidLine, bootLine] = content.split('\n');
  const pid = Number.parseInt(pidLine ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const bootedAt = Number(bootLine);
  return bootLine && Number.isFinite(bootedAt) ? { pid, bootedAt } : { pid };
}

function ownerMayBeRunning(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return false; // this process is starting, so the lock's agent is not it
  if (owner.bootedAt !== undefined && Math.abs(owner.bootedAt - bootTime()) > SAME_BOOT_TOLERANCE_MS) return false;
  return isRunning(owner.pid);
}

function bootTime(): number {
  return Date.now() - os.uptime() * 1000;
}

function readLock(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
