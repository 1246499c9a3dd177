import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';

/**
 * A device whose audit database was replaced, reverted, or configured for Edge Control late uploads a new chain,
 * stored under `<device>/chain-<id>` beside its first. An administrator following one device asks by its device id,
 * and must see all of them: otherwise the device's records would seem to stop where its first chain ends.
 */

const stores: SqliteControlStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function openStore(): SqliteControlStore {
  const store = new SqliteControlStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-control-chains-')), 'control.db'));
  stores.push(store);
  return store;
}

async function store(s: SqliteControlStore, deviceId: string, seq: number): Promise<void> {
  const hash = `${deviceId}-${seq}`.padEnd(64, '0');
  expect(await s.insertAuditBatch(
    { device_id: deviceId, batch_id: `b-${deviceId}-${seq}`, digest: hash, first_seq: seq, last_seq: seq, chain_head: hash, stored: 1, received_at: new Date().toISOString() },
    [{ seq, prev_hash: '0'.repeat(64), hash, record_json: '{}' }],
  )).toBe('inserted');
}

describe('the admin audit query by device id', () => {
  it('returns the device\'s records and those of its later chains, in arrival order, and no other device\'s', async () => {
    const s = openStore();
    await store(s, 'dev-1', 1);
    await store(s, 'dev-1/chain-0123456789abcdef0123456789abcdef', 1);
    await store(s, 'dev-10', 1);
    await store(s, 'dev-1', 2);
    await store(s, 'dev-1/chain-fedcba9876543210fedcba9876543210', 5);
    const rows = await s.listAuditRecords({ deviceId: 'dev-1', after: 0, limit: 100 });
    expect(rows.map((r) => [r.device_id, r.seq])).toEqual([
      ['dev-1', 1], ['dev-1/chain-0123456789abcdef0123456789abcdef', 1], ['dev-1', 2], ['dev-1/chain-fedcba9876543210fedcba9876543210', 5],
    ]);
  });

  it('a chain\'s own id still selects just that chain', async () => {
    const s = openStore();
    await store(s, 'dev-1', 1);
    await store(s, 'dev-1/chain-0123456789abcdef0123456789abcdef', 1);
    const rows = await s.listAuditRecords({ deviceId: 'dev-1/chain-0123456789abcdef0123456789abcdef', after: 0, limit: 100 });
    expect(rows.map((r) => r.device_id)).toEqual(['dev-1/chain-0123456789abcdef0123456789abcdef']);
  });
});
