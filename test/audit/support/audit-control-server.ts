import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditBatchSchema, type AuditAck, type ChainedAuditRecord } from '../../../src/control/protocol/audit.js';
import { canonicalJson } from '../../../src/util/canonical-json.js';
import { createHash } from 'node:crypto';

const GENESIS = '0'.repeat(64);

/**
 * A stand-in for Edge Control's audit endpoint, written from the contract (not from the client code):
 * POST /api/edge/v1/audit/batches, Bearer auth, Idempotency-Key = batch_id, duplicates answered 200
 * with duplicate:true and stored once, a batch that does not continue the device's chain → 409, every
 * hash recomputed. Can be taken down and brought back on the same port, fail on demand, or store a
 * batch and then stall before answering (to kill the client between "stored" and "acknowledged").
 */
export class AuditControlServer {
  /** Every record stored, in arrival order: duplicates would show up here twice. */
  readonly stored: ChainedAuditRecord[] = [];
  readonly batchIds = new Set<string>();
  readonly requests: { batchId: string; status: number; idempotencyKey?: string; authorization?: string }[] = [];
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private server?: http.Server;
  private sockets = new Set<import('node:net').Socket>();
  port = 0;
  /** Answer the next N uploads with this status (without storing). */
  failNext: { count: number; status: number; retryAfter?: string } = { count: 0, status: 503 };
  /** Uploads answered as duplicates (a resend of a batch already stored). */
  duplicates = 0;
  /** After storing a batch, wait this long before answering. */
  ackDelayMs = 0;
  /** Refuse bodies larger than this with 413, storing nothing (as a proxy's body limit in front would). */
  maxBodyBytes = Infinity;
  /**
   * Answer a batch that does not continue the chain as today's Edge Control does: 409 audit_chain_gap
   * with error.chain_head (where the stored chain ends), so the device can recover. Off: an older
   * server's 409 without it.
   */
  reportsChainHead = false;
  /** The batches stored, in order, so a restore from a backup can forget the later ones. */
  private readonly storedBatches: { batchId: string; deviceId: string; lastSeq: number }[] = [];

  constructor(readonly credential = 'device-credential') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Down hard: stop listening and cut open connections (clients see ECONNREFUSED / resets). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The server's database restored from a backup taken when `deviceId`'s chain ended with the last batch
   * at or before `throughSeq`: the later records and batch ids are forgotten. Returns where the chain now ends.
   */
  restoreBackup(deviceId: string, throughSeq: number): number {
    const kept = this.storedBatches.filter((b) => b.deviceId !== deviceId || b.lastSeq <= throughSeq);
    const lost = this.storedBatches.filter((b) => !kept.includes(b));
    const head = Math.max(0, ...kept.filter((b) => b.deviceId === deviceId).map((b) => b.lastSeq));
    for (const b of lost) this.batchIds.delete(b.batchId);
    this.storedBatches.splice(0, this.storedBatches.length, ...kept);
    const records = this.stored.filter((r) => r.record.device_id !== deviceId || r.seq <= head);
    this.stored.splice(0, this.stored.length, ...records);
    const last = records.filter((r) => r.record.device_id === deviceId).at(-1);
    this.heads.set(deviceId, last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS });
    return head;
  }

  storedSeqCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const r of this.stored) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    return counts;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown, batchId = '?') => {
      this.requests.push({ batchId, status, idempotencyKey: req.headers['idempotency-key'] as string | undefined, authorization: req.headers.authorization });
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 503 && this.failNext.retryAfter ? { 'retry-after': this.failNext.retryAfter } : {}) });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/api/edge/v1/audit/batches') return send(404, { error: 'not_found' });
    if (req.headers.authorization !== `Bearer ${this.credential}`) return send(401, { error: 'unauthorized' });
    if (this.failNext.count > 0) {
      this.failNext.count -= 1;
      return send(this.failNext.status, { error: 'unavailable' });
    }
    if (chunks.reduce((sum, chunk) => sum + chunk.length, 0) > this.maxBodyBytes) return send(413, { error: 'payload_too_large' });
    let parsed;
    try {
      parsed = AuditBatchSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      return send(400, { error: 'invalid_json' });
    }
    if (!parsed.success) return send(400, { error: 'invalid_batch', issues: parsed.error.issues.slice(0, 3) });
    const batch = parsed.data;
    if (req.headers['idempotency-key'] !== batch.batch_id) return send(400, { error: 'idempotency_key_mismatch' }, batch.batch_id);

    const head = this.heads.get(batch.device_id) ?? { seq: 0, hash: GENESIS };
    if (this.batchIds.has(batch.batch_id)) {
      this.duplicates += 1;
      const ack: AuditAck = { batch_id: batch.batch_id, stored: 0, duplicate: true, chain_head: head.hash };
      return send(200, ack, batch.batch_id);
    }
    if (batch.first_seq !== head.seq + 1 || batch.records[0]!.prev_hash !== head.hash) {
      if (this.reportsChainHead) {
        const message = `this device's audit chain ends at seq ${head.seq}; upload seq ${head.seq + 1} next`;
        return send(409, { error: { type: 'audit_chain_gap', message, chain_head: head } }, batch.batch_id);
      }
      return send(409, { error: 'chain_gap', expected_seq: head.seq + 1, head: head.hash }, batch.batch_id);
    }
    let prev = head;
    for (const record of batch.records) {
      const expected = createHash('sha256').update(prev.hash).update(canonicalJson(record.record)).digest('hex');
      if (record.seq !== prev.seq + 1 || record.prev_hash !== prev.hash || record.hash !== expected) {
        return send(400, { error: 'bad_chain', seq: record.seq }, batch.batch_id);
      }
      prev = { seq: record.seq, hash: record.hash };
    }
    if (prev.seq !== batch.last_seq || prev.hash !== batch.chain_head) return send(400, { error: 'bad_batch_bounds' }, batch.batch_id);

    // Stored: from here on a retry must be recognised as a duplicate.
    this.stored.push(...batch.records);
    this.batchIds.add(batch.batch_id);
    this.storedBatches.push({ batchId: batch.batch_id, deviceId: batch.device_id, lastSeq: batch.last_seq });
    this.heads.set(batch.device_id, prev);
    if (this.ackDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.ackDelayMs));
    const ack: AuditAck = { batch_id: batch.batch_id, stored: batch.records.length, duplicate: false, chain_head: prev.hash };
    if (!res.destroyed) send(200, ack, batch.batch_id);
  }
}
