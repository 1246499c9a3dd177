import fs from 'node:fs';
import path from 'node:path';

/** Where a running agent says how to reach it, so `bifrost-edge status` (another process) can ask. */
export interface RuntimeInfo {
  pid: number;
  proxy: string;
  ca: string;
  startedAt: string;
}

const FILE = 'runtime.json';

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  const file = path.join(dataDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Removes runtime.json if it describes `ownerPid` (this process): never another agent's. */
export function removeRuntimeFile(dataDir: string, ownerPid: number = process.pid): void {
  const file = path.join(dataDir, FILE);
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RuntimeInfo>).pid !== ownerPid) return;
  } catch {
    // Unreadable or half-written: it describes no agent anyone can reach; remove it.
  }
  fs.rmSync(file, { force: true });
}

/** The running agent's info, or undefined when none is running (no file, or its process is gone). */
export function readRuntimeFile(dataDir: string): RuntimeInfo | undefined {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined;
  }
  return info;
}
