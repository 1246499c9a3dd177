import fs from 'node:fs';
import path from 'node:path';

/** The lock file's name inside the data dir; it holds the owner's pid. */
export const DATA_DIR_LOCK_FILE = 'agent.lock';

export interface DataDirLock {
  /** Removes the lock, if it is still this process's. */
  release(): void;
}

/**
 * Makes this process the only agent using `dataDir`. A second agent on the same data dir would
 * share its databases and overwrite runtime.json, so `status` and `mcp wrap` would reach the wrong
 * one. A lock left by an agent that died without cleaning up (SIGKILL, power loss) names a pid that
 * no longer runs, and is taken over.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      return { release: () => releaseIfMine(file, mine) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`cannot create the lock file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that the data dir is writable.`);
      }
    }
    const held = readLock(file);
    if (held === undefined) continue; // removed meanwhile: try again
    const owner = Number.parseInt(held, 10);
    if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
      throw new Error(`another Bifrost Edge is using ${dataDir} (pid ${owner}). Stop it first, or give this one another --data-dir. If no Bifrost Edge is running, delete ${file}.`);
    }
    // Stale: its agent is gone. Removed only if it still says the same (another starter may have taken it over).
    if (readLock(file) === held) fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: other processes keep taking it. Make sure only one Bifrost Edge starts on ${dataDir}.`);
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

function releaseIfMine(file: string, mine: string): void {
  if (readLock(file) === mine) fs.rmSync(file, { force: true });
}
