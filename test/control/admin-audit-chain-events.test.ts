import { describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse } from '../../src/control/protocol/audit-chain-events.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { controlPerTest, copyDatabase, startChainRun, until, type ChainRun } from '../audit/support/chain-gap.js';
import { tempDbPath } from '../audit/support/records.js';
import { ADA_KEY, ENGINEERING_KEY, type ControlFixture } from './support/control-fixture.js';

/**
 * GET …/admin/audit/chain-events through a real Edge Control: what a device's new chain or fork looked like
 * was stored with its batch (audit_chain_events), but no route answered, so an admin could only read it in
 * the server's log. Devices here fork their chains with their real outbox and shipper.
 */
const { cleanups, startControl } = controlPerTest();
const route = EdgeControlPaths.adminAuditChainEvents;

function ship(f: ControlFixture, device: EnrollmentResponse | undefined, dbPath: string, recordDeviceId?: string): Promise<ChainRun> {
  return startChainRun(f, device, { path: dbPath }, { batchSize: 8, backoff: { baseMs: 100, maxMs: 200 }, ...(recordDeviceId ? { recordDeviceId } : {}) }, cleanups);
}

/** Uploads seq 1–10, then its database goes back to a copy holding 11–15 unsent and writes other records from 16 on: a fork at seq 16. */
async function revertToSnapshot(f: ControlFixture, device: EnrollmentResponse): Promise<void> {
  const dbPath = tempDbPath();
  let run = await ship(f, device, dbPath);
  await run.append(1, 10, 'first');
  await until(() => run.outbox.depth() === 0, 'records 1–10 uploaded');
  await run.stop();
  const offline = await ship(f, undefined, dbPath, device.device_id);
  await offline.append(11, 15, 'first');
  await offline.stop();
  await copyDatabase(dbPath, `${dbPath}.snapshot`);
  run = await ship(f, device, dbPath);
  await run.append(16, 20, 'lost');
  await until(() => run.outbox.depth() === 0, 'records 11–20 uploaded');
  await run.stop();
  await copyDatabase(`${dbPath}.snapshot`, dbPath);
  const reverted = await ship(f, undefined, dbPath, device.device_id);
  await reverted.append(16, 18, 'after');
  await reverted.stop();
  run = await ship(f, device, dbPath);
  await until(() => run.outbox.depth() === 0, 'the reverted database uploaded');
  await run.stop();
}

/** Uploads seq 1–8 from one audit database, then from a new one in its place: a new chain from seq 1. */
async function replaceDatabase(f: ControlFixture, device: EnrollmentResponse): Promise<void> {
  for (const tag of ['old', 'new']) {
    const run = await ship(f, device, tempDbPath());
    await run.append(1, 8, tag);
    await until(() => run.outbox.depth() === 0, `the ${tag} database uploaded`);
    await run.stop();
  }
}

async function get(f: ControlFixture, query: string, authorization?: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${f.server.url}${route}${query}`, authorization === undefined ? {} : { headers: { authorization } });
  return { status: res.status, body: await res.json() as unknown };
}

describe(`GET ${route}`, () => {
  it('lists the devices\' forks (a reverted and a replaced audit database) in arrival order, by device, page by page with `after`', async () => {
    const f = await startControl();
    const ada = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'reverted' } });
    const eng = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ENGINEERING_KEY.value, device: { hostname: 'replaced' } });
    await revertToSnapshot(f, ada);
    await replaceDatabase(f, eng);

    const all = await f.admin('GET', route);
    expect(all.status).toBe(200);
    const { events, next_after } = all.json as AdminAuditChainEventsResponse;
    expect(next_after).toBeUndefined();
    expect(events.map((e) => ({ kind: e.kind, device_id: e.device_id, starts_at_seq: e.starts_at_seq }))).toEqual([
      { kind: 'fork', device_id: ada.device_id, starts_at_seq: 16 },
      { kind: 'fork', device_id: eng.device_id, starts_at_seq: 1 },
    ]);
    const [fork] = events;
    expect(fork!.chain).toMatch(new RegExp(`^${ada.device_id}/chain-[0-9a-f]{32}$`));
    expect(fork!.message).toContain(`at seq 16 that conflicts with its earlier chain ${ada.device_id}: this server holds other records for seq 16-20 there`);
    expect(fork!.details).toMatchObject({ conflicting_seqs: '16-20', differs_from: [{ chain: ada.device_id, at_seq: 16, conflicting_seqs: '16-20' }] });

    const byDevice = (await f.admin('GET', `${route}?device_id=${encodeURIComponent(eng.device_id)}`)).json as AdminAuditChainEventsResponse;
    expect(byDevice.events.map((e) => e.id)).toEqual([events[1]!.id]);

    const first = (await f.admin('GET', `${route}?limit=1`)).json as AdminAuditChainEventsResponse;
    expect(first).toEqual({ events: [events[0]], next_after: events[0]!.id });
    const second = (await f.admin('GET', `${route}?limit=1&after=${first.next_after}`)).json as AdminAuditChainEventsResponse;
    expect(second).toEqual({ events: [events[1]], next_after: events[1]!.id });
    expect((await f.admin('GET', `${route}?limit=1&after=${second.next_after}`)).json).toEqual({ events: [] });
  });

  it('needs the admin token, like the other admin routes', async () => {
    const f = await startControl();
    expect(await get(f, '')).toMatchObject({ status: 401, body: { error: { type: 'unauthorized' } } });
    expect(await get(f, '', 'Bearer not-the-admin-token')).toMatchObject({ status: 403, body: { error: { type: 'forbidden' } } });
  });

  it('refuses a bad query with 400, naming the parameter and its bound', async () => {
    const f = await startControl();
    expect(await f.admin('GET', `${route}?limit=5000`)).toEqual({
      status: 400,
      json: { error: { type: 'invalid_request', message: expect.stringMatching(/^audit chain events query is invalid: limit: .*1000/) as unknown } },
    });
    expect((await f.admin('GET', `${route}?after=-1`)).json).toMatchObject({ error: { message: expect.stringMatching(/after: .*0/) as unknown } });
    expect((await f.admin('GET', `${route}?devic_id=x`)).json).toMatchObject({ error: { message: expect.stringContaining('devic_id') as unknown } });
  });
});
