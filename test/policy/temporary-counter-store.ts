import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';

/**
 * A fresh policy.db per test (in a temp dir removed afterwards): `open()` opens it, again after
 * `closeLast()` to read what an earlier agent left there.
 */
export function temporaryCounterStores(prefix: string): { open(): SqliteCounterStore; closeLast(): void } {
  let dir = '';
  const dbs: PolicyDatabase[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => {
    for (const db of dbs.splice(0)) if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    open() {
      const db = openPolicyDatabase(path.join(dir, 'policy.db'));
      dbs.push(db);
      return new SqliteCounterStore(db);
    },
    closeLast() {
      dbs.pop()?.close();
    },
  };
}
