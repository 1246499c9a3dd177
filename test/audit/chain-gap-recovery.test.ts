import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import type { AuditOutboxOptions } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { ADA_KEY, captureLogger, type ControlFixture } from '../control/support/control-fixture.js';
import { tempDbPath } from './support/records.js';
import { controlPerTest, copyDatabase, restartControl, startChainRun, storedAtServer, until, type ChainRun, type ChainRunOptions } from './support/chain-gap.js';

/**
 * The two ways Edge Control's copy of a device's chain stops matching the device, against the real
 * reference server on real SQLite files: the server's database restored from a backup (it lacks
 * records the device counts as acknowledged), and the device's audit database replaced after it was
 * damaged (a new chain from seq 1, while the server holds the old one).
 */
const { cleanups, startControl } = controlPerTest();

/** The device's outbox shipping to `f` in batches of 8; without an enrollment, only written (Edge Control out of reach). */
function startShipping(f: ControlFixture, device: EnrollmentResponse | undefined, outboxOptions: AuditOutboxOptions, more: Partial<ChainRunOptions> = {}): Promise<ChainRun> {
  return startChainRun(f, device, outboxOptions, { batchSize: 8, backoff: { baseMs: 100, maxMs: 200 }, ...more }, cleanups);
}

describe('Edge Control restored from a backup that lacks records the device counted as acknowledged', () => {
  it('the device resends them from its outbox and carries on, every record stored once', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'restored' } });
    const dbPath = tempDbPath();

    let run = await startShipping(f, device, { path: dbPath });
    await run.append(1, 20);
    await until(() => run.outbox.depth() === 0, 'records 1–20 uploaded');
    await restartControl(f, 'back up');
    await run.append(21, 50);
    await until(() => run.outbox.depth() === 0, 'records 21–50 uploaded');
    await run.stop();

    await restartControl(f, 'restore');
    expect((await storedAtServer(f, device.device_id)).map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    run = await startShipping(f, device, { path: dbPath });
    await run.append(51, 80);
    await until(async () => (await storedAtServer(f, device.device_id)).length >= 80, 'all 80 records at Edge Control');
    const stored = await storedAtServer(f, device.device_id);
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(stored.map((r) => r.record.request_id)).toEqual(Array.from({ length: 80 }, (_, i) => `r-${i + 1}`));
    await until(() => run.outbox.depth() === 0, 'the outbox drained');
    expect(run.failures).toEqual([]);
    expect(run.gaps).toEqual([]);
    // It could resend, so it did: no further chain.
    expect(run.outbox.uploadChain()).toBeUndefined();
    expect((await storedAtServer(f)).filter((r) => r.device_id !== device.device_id)).toEqual([]);
  });

  it('when the lost records were pruned here, it uploads the rest as a new chain from the oldest record it stores and logs the loss as an error', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'pruned' } });
    const dbPath = tempDbPath();
    // A small cap: records acknowledged are pruned soon after, as a busy device's would be.
    const options = { path: dbPath, maxRecords: 25 };

    let run = await startShipping(f, device, options);
    await run.append(1, 20);
    await until(() => run.outbox.depth() === 0, 'records 1–20 uploaded');
    await restartControl(f, 'back up');
    await run.append(21, 50);
    await until(() => run.outbox.depth() === 0, 'records 21–50 uploaded');
    await run.stop();
    const serverLog = await restartControl(f, 'restore');

    const log = captureLogger();
    run = await startShipping(f, device, options, { log: log.log });
    // What pruning left here: the records before it are gone from this device, and Edge Control lost them.
    const oldest = 50 - run.outbox.status().storedRecords + 1;
    expect(oldest).toBeGreaterThan(21);
    // The first upload meets the gap. The records Edge Control lost that are still here count as unsent
    // again until the new chain takes them (with this cap, the whole queue), so wait before writing more.
    await run.append(51, 51);
    await until(() => run.outbox.depth() === 0 || run.gaps.length > 0, 'record 51 uploaded, or a chain_gap event');
    await run.append(52, 55);
    await until(() => run.outbox.depth() === 0 || run.gaps.length > 0, 'records 52–55 uploaded, or a chain_gap event');
    expect(run.gaps.map((g) => g.error.message)).toEqual([]);
    expect(run.failures).toEqual([]);

    // The old chain as the restored backup holds it, the new one beside it from the oldest stored record.
    expect((await storedAtServer(f, device.device_id)).map((r) => r.record.request_id)).toEqual(Array.from({ length: 20 }, (_, i) => `r-${i + 1}`));
    const chain = run.outbox.uploadChain()!;
    expect(chain.fromSeq).toBe(oldest);
    const others = (await storedAtServer(f)).filter((r) => r.device_id !== device.device_id);
    expect(new Set(others.map((r) => r.device_id))).toEqual(new Set([`${device.device_id}/chain-${chain.chainId}`]));
    expect(others.map((r) => r.seq)).toEqual(Array.from({ length: 55 - oldest + 1 }, (_, i) => oldest + i));
    expect(others.map((r) => r.record.request_id)).toEqual(Array.from({ length: 55 - oldest + 1 }, (_, i) => `r-${oldest + i}`));

    // An error naming the lost seqs and the cause, once.
    const errors = log.lines.filter((l) => / ERROR /.test(l));
    const lost = errors.filter((l) => l.includes(`audit records seq 21–${oldest - 1} are lost`));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/Edge Control's database was restored from a backup older than what this device had already uploaded/);
    expect(lost[0]).toContain(`from seq ${oldest} (the oldest it still stores) on as a new chain (${chain.chainId})`);
    // Edge Control says where the new chain starts and which seqs it lacks, and why that may be.
    const started = serverLog.filter((l) => l.includes(`device started a new audit chain at seq ${oldest}`));
    expect(started).toHaveLength(1);
    expect(started[0]).toContain(`records seq 21-${oldest - 1} are not held here`);
    expect(started[0]).toMatch(/this server's database was restored from a backup older than that upload/);
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });
});

describe('a device whose damaged audit database was moved aside', () => {
  it('uploads the new database as a new chain, kept beside the old one, also after a restart', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'replaced' } });
    const dbPath = tempDbPath();

    // Both databases' first batch is seq 1–8, under the same batch id unless the new chain is named.
    let run = await startShipping(f, device, { path: dbPath }, { before: { count: 8, tag: 'old' } });
    await run.append(9, 30, 'old');
    await until(() => run.outbox.depth() === 0, 'the first database uploaded');
    await run.stop();
    // What the damaged-database message tells IT to do: move the files aside, start again.
    const aside = `${path.dirname(dbPath)}-aside`;
    await fs.mkdir(aside);
    for (const name of ['audit.db', 'audit.db-wal', 'audit.db-shm']) {
      await fs.rename(path.join(path.dirname(dbPath), name), path.join(aside, name)).catch(() => undefined);
    }

    run = await startShipping(f, device, { path: dbPath }, { before: { count: 8, tag: 'new' } });
    await run.append(9, 40, 'new');
    await until(() => run.outbox.depth() === 0, 'the new database uploaded');
    await run.stop();
    // A restart: the shipper finds out again that its chain is a further one.
    run = await startShipping(f, device, { path: dbPath });
    await run.append(41, 45, 'new');
    await until(() => run.outbox.depth() === 0, 'the records after the restart uploaded');

    // The old chain is untouched…
    const old = await storedAtServer(f, device.device_id);
    expect(old.map((r) => r.record.request_id)).toEqual(Array.from({ length: 30 }, (_, i) => `old-${i + 1}`));
    // …and the new one is stored whole, from seq 1, visible as a chain of its own.
    const others = (await storedAtServer(f)).filter((r) => r.device_id !== device.device_id);
    expect(new Set(others.map((r) => r.device_id)).size).toBe(1);
    expect(others[0]!.device_id).toMatch(new RegExp(`^${device.device_id}/chain-[0-9a-f]{32}$`));
    expect(others.map((r) => r.seq)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(others.map((r) => r.record.request_id)).toEqual(Array.from({ length: 45 }, (_, i) => `new-${i + 1}`));
    expect(run.failures).toEqual([]);
  });

  it('keeps uploading the new database as its chain after a restart once it pruned acknowledged records', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'replaced-pruned' } });
    const dbPath = tempDbPath();

    let run = await startShipping(f, device, { path: dbPath });
    await run.append(1, 30, 'old');
    await until(() => run.outbox.depth() === 0, 'the first database uploaded');
    await run.stop();
    const aside = `${path.dirname(dbPath)}-aside`;
    await fs.mkdir(aside);
    for (const name of ['audit.db', 'audit.db-wal', 'audit.db-shm']) {
      await fs.rename(path.join(path.dirname(dbPath), name), path.join(aside, name)).catch(() => undefined);
    }

    // A small cap, as a busy device reaches: acknowledged records of the new database are pruned.
    const options = { path: dbPath, maxRecords: 25 };
    run = await startShipping(f, device, options);
    for (let i = 1; i <= 60; i++) {
      await run.append(i, i, 'new');
      if (i % 10 === 0) await until(() => run.outbox.depth() === 0, `new records through ${i} uploaded`);
    }
    expect(run.outbox.status().storedRecords).toBeLessThan(60);
    await run.stop();

    run = await startShipping(f, device, options);
    await run.append(61, 70, 'new');
    await until(() => run.outbox.depth() === 0 || run.gaps.length > 0, 'the records after the restart uploaded, or a gap');
    expect(run.gaps.map((g) => g.error.message)).toEqual([]);
    expect(run.failures).toEqual([]);
    const others = (await storedAtServer(f)).filter((r) => r.device_id !== device.device_id);
    expect(new Set(others.map((r) => r.device_id)).size).toBe(1);
    expect(others.map((r) => r.record.request_id)).toEqual(Array.from({ length: 70 }, (_, i) => `new-${i + 1}`));
    expect((await storedAtServer(f, device.device_id)).length).toBe(30);
  });
});

describe('a device whose audit database is reverted to the same copy twice (a VM snapshot taken after it started a new chain)', () => {
  it('uploads what it wrote after the second revert as yet another chain instead of stopping', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'snapshot' } });
    const dbPath = tempDbPath();

    let run = await startShipping(f, device, { path: dbPath });
    await run.append(1, 10, 'first');
    await until(() => run.outbox.depth() === 0, 'the first database uploaded');
    await run.stop();
    await fs.rm(path.dirname(dbPath), { recursive: true });

    // A new database: Edge Control holds a different chain, so this one goes as a new chain…
    run = await startShipping(f, device, { path: dbPath });
    await run.append(1, 10, 'a');
    await until(() => run.outbox.depth() === 0, 'the new database uploaded as a new chain');
    const chain = run.outbox.uploadChain()!;
    await run.stop();
    // …and the snapshot holds that chain's id.
    await copyDatabase(dbPath, `${dbPath}.snapshot`);
    run = await startShipping(f, device, { path: dbPath });
    await run.append(11, 15, 'b');
    await until(() => run.outbox.depth() === 0, 'records after the snapshot uploaded');
    await run.stop();

    await copyDatabase(`${dbPath}.snapshot`, dbPath);
    run = await startShipping(f, device, { path: dbPath });
    expect(run.outbox.uploadChain()).toEqual(chain);
    await run.append(11, 15, 'c');
    await until(() => run.outbox.depth() === 0 || run.gaps.length > 0, 'records after the revert uploaded, or a gap');
    expect(run.gaps.map((g) => g.error.message)).toEqual([]);
    const another = run.outbox.uploadChain()!;
    expect(another.chainId).not.toBe(chain.chainId);
    expect(another.fromSeq).toBe(11);

    const stored = await storedAtServer(f);
    const byChain = (id: string) => stored.filter((r) => r.device_id === `${device.device_id}/chain-${id}`).map((r) => r.record.request_id);
    expect(byChain(chain.chainId)).toEqual([...Array.from({ length: 10 }, (_, i) => `a-${i + 1}`), ...Array.from({ length: 5 }, (_, i) => `b-${i + 11}`)]);
    expect(byChain(another.chainId)).toEqual(Array.from({ length: 5 }, (_, i) => `c-${i + 11}`));
  });
});

describe('a device whose audit database goes back to a state with records Edge Control received later (a VM snapshot, power loss losing the newest commits)', () => {
  it('counts what Edge Control holds as it is here as acknowledged, uploads only the rewritten records as a new chain, and both sides log the fork', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'reverted' } });
    const serverLog = await restartControl(f);
    const dbPath = tempDbPath();

    let run = await startShipping(f, device, { path: dbPath });
    await run.append(1, 20, 'first');
    await until(() => run.outbox.depth() === 0, 'records 1–20 uploaded');
    await run.stop();
    // The snapshot holds seq 21–30, written but not yet acknowledged.
    const offline = await startShipping(f, undefined, { path: dbPath }, { recordDeviceId: device.device_id });
    await offline.append(21, 30, 'first');
    await offline.stop();
    await copyDatabase(dbPath, `${dbPath}.snapshot`);
    run = await startShipping(f, device, { path: dbPath });
    await run.append(31, 40, 'lost');
    await until(() => run.outbox.depth() === 0, 'records 21–40 uploaded');
    await run.stop();

    // Back to the snapshot: seq 21–30 as Edge Control holds them, then other records from seq 31 on.
    await copyDatabase(`${dbPath}.snapshot`, dbPath);
    const reverted = await startShipping(f, undefined, { path: dbPath }, { recordDeviceId: device.device_id });
    await reverted.append(31, 35, 'after');
    await reverted.stop();
    const log = captureLogger();
    run = await startShipping(f, device, { path: dbPath }, { log: log.log });
    await until(() => run.outbox.depth() === 0 || run.gaps.length > 0, 'the reverted database uploaded, or a gap');
    expect(run.gaps.map((g) => g.error.message)).toEqual([]);

    const chain = run.outbox.uploadChain()!;
    expect(chain.fromSeq).toBe(31);
    const stored = await storedAtServer(f);
    const ids = stored.map((r) => r.record.request_id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(stored.filter((r) => r.device_id === `${device.device_id}/chain-${chain.chainId}`).map((r) => `${r.seq}:${r.record.request_id}`))
      .toEqual(Array.from({ length: 5 }, (_, i) => `${31 + i}:after-${31 + i}`));

    const warned = log.lines.filter((l) => / WARN /.test(l) && l.includes('as a new chain'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/this audit database was replaced, or reverted to an earlier copy of itself/);
    expect(warned[0]).toMatch(/Edge Control holds seq \d+–30 as they are here \(counted as acknowledged\) and other records from seq 31 on/);
    const forked = serverLog.filter((l) => l.includes('device started a new audit chain'));
    expect(forked).toHaveLength(1);
    expect(forked[0]).toContain(`at seq 31 that conflicts with its earlier chain ${device.device_id}: this server holds other records for seq 31-40 there`);
    expect(forked[0]).toContain('Both hold the same records through seq 30 and part after it');
    expect(forked[0]).toContain('"conflicting_seqs":"31-40"');
    expect(forked[0]).not.toContain('it continues the earlier chain');
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });
});
