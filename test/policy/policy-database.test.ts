import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPolicyDatabase } from '../../src/policy/policy-database.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';

describe('openPolicyDatabase', () => {
  it('a damaged file is set aside (kept for support) and a fresh one opened, so the agent still starts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-db-'));
    const file = path.join(dir, 'policy.db');
    fs.writeFileSync(file, 'this is not a database, it was half restored from a backup'.repeat(100));
    const setAside: string[] = [];
    const db = openPolicyDatabase(file, { onSetAside: (movedTo, error) => setAside.push(`${path.basename(movedTo).replace(/\d/g, 'N')} ${(error as { code?: string }).code}`) });
    try {
      expect(setAside).toEqual(['policy.db.corrupt-NNNN-NN-NNTNN-NN-NN-NNNZ SQLITE_NOTADB']);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('policy.db.corrupt-'))).toHaveLength(1);
      // The fresh file works: counters can be written and read back.
      const counters = new SqliteCounterStore(db);
      expect(counters.add('vk:requests', 1, 3_600_000, 1_000)).toMatchObject({ before: 0, after: 1 });
      expect(counters.add('vk:requests', 2, 3_600_000, 2_000)).toMatchObject({ before: 1, after: 3 });
    } finally {
      db.close();
    }
  });

  it('an intact file opens as it is, nothing set aside', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-db-'));
    const file = path.join(dir, 'policy.db');
    openPolicyDatabase(file).close();
    const setAside: string[] = [];
    openPolicyDatabase(file, { onSetAside: (movedTo) => setAside.push(movedTo) }).close();
    expect(setAside).toEqual([]);
  });
});
