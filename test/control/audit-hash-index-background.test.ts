import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, captureLogger, startControlFixture, testLogger, type ControlFixture } from './support/control-fixture.js';

/**
 * The hash index (audit_records_hash) was built inside the startup migration: over 2M records the server
 * stayed unreachable for 12.5 s, and a liveness probe killing it mid-build made it start over in a loop. It
 * is built after the server listens, in a worker thread with its own connection; until it exists, a headless
 * batch is matched by reading each chain of the other enrollments. Held at its start by a hook, not by timing.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function hashIndexExists(file: string): boolean {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'audit_records_hash'").get() !== undefined;
  } finally {
    db.close();
  }
}

describe('the audit record hash index', () => {
  it('is built after the server listens: it answers while the build waits, a restart builds it again, and then it exists', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    const enroll = () => postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: 'inst-b' } });
    const first = await enroll();
    const records = chainedRecords(1, 20, GENESIS_HASH, 'inst-b', 'r');
    expect((await postAuditBatch(f.server.url, first.device_credential, batchFor(first.device_id, records))).status).toBe(200);
    await f.server.close();
    // As the previous release left the file: no index.
    const db = new Database(file);
    db.exec('DROP INDEX IF EXISTS audit_records_hash');
    db.close();

    // Started with the build held: the server answers, and matches a re-enrolled device's backlog without the index.
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const log = captureLogger();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: log.log, backgroundWork: { beforeBuild: () => held } });
    expect((await fetch(`${f.server.url}${EdgeControlPaths.health}`)).status).toBe(200);
    const second = await enroll();
    const resent = await postAuditBatch(f.server.url, second.device_credential, batchFor(second.device_id, records.slice(0, 10)));
    expect(resent.body).toMatchObject({ duplicate: true, chain_head: records[19]!.hash });
    expect(hashIndexExists(file)).toBe(false);

    // Stopped before the build ran (a restart, a probe's kill): no index; the next start builds it.
    await f.server.close();
    release();
    expect(hashIndexExists(file)).toBe(false);
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: log.log });
    await f.server.backgroundWorkDone();
    expect(hashIndexExists(file)).toBe(true);
    expect(log.lines.filter((line) => /INFO +building the index audit_records_hash in the background/.test(line))).toHaveLength(1);
    expect(log.lines.filter((line) => /INFO +built the index audit_records_hash in \d+ ms/.test(line))).toHaveLength(1);

    // Once built, a start with the index does no background work.
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: testLogger() });
    await f.server.backgroundWorkDone();
    const resentAgain = await postAuditBatch(f.server.url, second.device_credential, batchFor(second.device_id, records.slice(10, 20)));
    expect(resentAgain.body).toMatchObject({ duplicate: true, chain_head: records[19]!.hash });
  });
});
