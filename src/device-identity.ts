import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A stable id for this installation, made once and kept in the data dir: audit records need a
 * device id from the first request on, before (or without) Edge Control enrollment.
 */
export function localDeviceId(dataDir: string): string {
  const file = path.join(dataDir, 'device-id');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(existing)) return existing;
  } catch {
    // First run: make one below.
  }
  const id = randomUUID();
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
