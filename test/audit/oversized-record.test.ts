import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * A record larger than the whole cap can never be stored, however empty the queue. It used to set the
 * level to "full" (the queue refusing everything) with nothing queued; failing closed, nothing then
 * recomputed the level and AI stayed blocked until a restart.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function outbox(options: ConstructorParameters<typeof AuditOutbox>[0]): AuditOutbox {
  const o = new AuditOutbox(options);
  open.push(o);
  return o;
}

const hugeContent = { content: { mode: 'full' as const, text: 'x'.repeat(120_000), truncated: false } };

describe('a record larger than the whole audit queue cap', () => {
  it('is refused on its own, saying the cap is too small, and the queue level stays as it was', async () => {
    const o = outbox({ path: tempDbPath(), maxBytes: 100_000 });
    const events: string[] = [];
    for (const event of ['queue_near_cap', 'queue_full', 'queue_ok'] as const) o.on(event, () => events.push(event));
    await o.appendDurable(sampleRecord(1));
    o.markSent(1);

    const refusal = await o.appendDurable(sampleRecord(2, hugeContent)).then(() => undefined, (error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'audit_record_too_large' });
    expect((refusal as Error).message).toMatch(/larger than the whole audit queue cap \(100000 bytes\).*Raise audit\.maxBytes/);
    expect(() => o.append(sampleRecord(3, hugeContent))).toThrow(/larger than the whole audit queue cap/);

    expect(o.status()).toMatchObject({ level: 'ok', unsentRecords: 0 });
    expect(events).toEqual([]);
    // Records that fit go on being written.
    await o.appendDurable(sampleRecord(4));
    expect(o.status()).toMatchObject({ level: 'ok', unsentRecords: 1 });
  });

  it('is refused the same way by an outbox without destinations (a rolling local log)', async () => {
    const o = outbox({ path: tempDbPath(), maxBytes: 100_000, destinations: [] });
    await expect(o.appendDurable(sampleRecord(1, hugeContent))).rejects.toMatchObject({ code: 'audit_record_too_large' });
    expect(o.status().level).toBe('ok');
  });
});
