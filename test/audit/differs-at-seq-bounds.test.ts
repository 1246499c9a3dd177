import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { AUDIT_DIFFERS_AT_SEQ_HEADER, type AuditBatch } from '../../src/control/protocol/audit.js';
import { captureLogger } from '../control/support/control-fixture.js';
import { until } from './support/chain-gap.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * `Edge-Audit-Differs-At-Seq` makes the device count the refused batch's records before it as
 * acknowledged. A broken or hostile server naming a seq outside the batch, or past the end of the chain
 * it says it holds, must not make the device skip records: the header is ignored (and logged), and the
 * 409 handled as a plain conflict, a new chain from the first unacknowledged record.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Answers the first upload 409 with `head` and `differsAt`, then acknowledges every batch; keeps what it got. */
async function startGapServer(head: { seq: number; hash: string }, differsAt: string): Promise<{ url: string; batches: AuditBatch[] }> {
  const batches: AuditBatch[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      const batch = JSON.parse(body) as AuditBatch;
      batches.push(batch);
      if (batches.length === 1) {
        res.writeHead(409, { 'content-type': 'application/json', [AUDIT_DIFFERS_AT_SEQ_HEADER]: differsAt });
        res.end(JSON.stringify({ error: { type: 'audit_chain_gap', message: 'the chain differs', chain_head: head } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ batch_id: batch.batch_id, stored: batch.records.length, duplicate: false, chain_head: batch.chain_head }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, batches };
}

const FOREIGN = 'fe'.repeat(32);

describe('a 409 naming where the refused batch first differs', () => {
  const cases: { name: string; head: number; differsAt: string; newChainFrom: number; ignored: boolean }[] = [
    { name: 'a seq of the batch the server\'s chain reaches', head: 30, differsAt: '8', newChainFrom: 8, ignored: false },
    { name: 'the batch\'s first seq (nothing held as sent)', head: 30, differsAt: '1', newChainFrom: 1, ignored: false },
    { name: 'a seq past the head the server names', head: 5, differsAt: '18', newChainFrom: 1, ignored: true },
    { name: 'a seq far past the batch', head: 30, differsAt: '1000000', newChainFrom: 1, ignored: true },
  ];
  for (const { name, head, differsAt, newChainFrom, ignored } of cases) {
    it(`${name} (${differsAt}, server head ${head}): new chain from seq ${newChainFrom}${ignored ? ', the header ignored and logged' : ''}`, async () => {
      const server = await startGapServer({ seq: head, hash: FOREIGN }, differsAt);
      const outbox = new AuditOutbox({ path: tempDbPath() });
      cleanups.push(() => outbox.close());
      for (let i = 1; i <= 20; i++) outbox.append(sampleRecord(i));
      await outbox.flush();
      const log = captureLogger();
      const shipper = new AuditShipper({ outbox, sink: new HttpAuditSink({ controlUrl: server.url, credential: 'c' }), backoff: { baseMs: 20, maxMs: 200 }, log: log.log });
      shipper.start();
      cleanups.push(() => shipper.stop());
      await until(() => outbox.depth() === 0, 'the records uploaded');

      const resent = server.batches.slice(1);
      expect(resent[0]).toMatchObject({ chain_id: outbox.uploadChain()!.chainId, first_seq: newChainFrom });
      expect(resent.at(-1)!.last_seq).toBe(20);
      const warned = log.lines.filter((l) => l.includes(`Edge Control named seq ${differsAt} as where audit batch`));
      expect(warned).toHaveLength(ignored ? 1 : 0);
      if (ignored) expect(warned[0]).toContain('handling the refusal as a plain conflict');
    });
  }
});
