import { createHash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import { ANNOUNCED_AUDIT_RECORD_FIELDS, AUDIT_DIFFERS_AT_SEQ_HEADER, AuditBatchSchema, type AuditAck, type AuditBatch, type AuditChainGapError } from '../protocol/audit.js';
import { AUDIT_RECORD_FIELDS_HEADER, IDEMPOTENCY_KEY_HEADER } from '../protocol/paths.js';
import { auditChainKey, chainStartOf, checkBatchIntegrity, decideAuditAppend, overlapWithStored } from './audit-chain-check.js';
import type { AuditChainHead, NewAuditChainEvent, StoredAuditBatch } from './control-store.js';
import { compareNewChain, comparedSeqs, describeComparison, range, type ComparedChain, type NewChainStart } from './new-chain-comparison.js';
import { ControlHttpError, parseWire, readJsonBody, sendJson } from './http-io.js';
import { authenticateDevice, type RouteHandler, type ServerContext } from './server-context.js';

/** Largest audit upload: 5000 records with full prompt text can be big, but not unbounded. */
const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/** A batch that does not continue the stored chain: answered 409 with where that chain ends (and where the batch first differs from it). */
class AuditChainGap extends ControlHttpError {
  constructor(message: string, readonly head: AuditChainHead, readonly differsAtSeq?: number) {
    super(409, 'audit_chain_gap', message);
  }
}

/**
 * POST /api/edge/v1/audit/batches. The same batch sent again (same Idempotency-Key and content) is
 * acknowledged with `duplicate: true` and stored once; a batch that does not continue the device's
 * stored hash chain is refused with 409, a message saying which records are missing, and
 * `error.chain_head` (where the stored chain ends), from which the device resends what is missing.
 */
export const auditBatchRoute: RouteHandler = async (ctx, req, res) => {
  const device = await authenticateDevice(ctx, req);
  const idempotencyKey = req.headers[IDEMPOTENCY_KEY_HEADER];
  const raw = await readJsonBody(req, MAX_BATCH_BYTES);
  const batch = parseWire(AuditBatchSchema, raw, 'audit batch');
  if (typeof idempotencyKey !== 'string' || idempotencyKey !== batch.batch_id) {
    throw new ControlHttpError(400, 'idempotency_key_mismatch', `send the header "Idempotency-Key: ${batch.batch_id}" (it must equal the body's batch_id)${typeof idempotencyKey === 'string' ? `; got ${JSON.stringify(idempotencyKey)}` : ''}`);
  }
  if (batch.device_id !== device.device_id) {
    throw new ControlHttpError(403, 'forbidden', `this credential belongs to device ${device.device_id}, but the batch is for ${batch.device_id}; each device uploads only its own records`);
  }
  const rawRecords = (raw as { records: Array<{ record: unknown }> }).records.map((r) => r.record);
  let ack: AuditAck;
  try {
    // One upload per device at a time, so the chain check and the insert never interleave.
    ack = await ctx.auditQueue.run(device.device_id, () => storeBatch(ctx, batch, rawRecords, digestOf(raw), true, device.installation_id));
  } catch (error) {
    if (!(error instanceof AuditChainGap)) throw error;
    ctx.log.debug(`audit batch refused: ${error.message}`);
    const body: AuditChainGapError = { error: { type: 'audit_chain_gap', message: error.message, chain_head: error.head } };
    sendJson(res, 409, body, error.differsAtSeq === undefined ? {} : { [AUDIT_DIFFERS_AT_SEQ_HEADER]: String(error.differsAtSeq) });
    return;
  }
  // Tells the device which newer record fields it may write from now on (it omits them until told).
  sendJson(res, 200, ack, { [AUDIT_RECORD_FIELDS_HEADER]: ANNOUNCED_AUDIT_RECORD_FIELDS.join(',') });
};

async function storeBatch(ctx: ServerContext, batch: AuditBatch, rawRecords: unknown[], digest: string, retryOnConflict: boolean, installationId?: string): Promise<AuditAck> {
  const { store } = ctx;
  const key = auditChainKey(batch);
  const existing = await store.auditBatch(key, batch.batch_id);
  if (existing?.digest === digest) {
    return { batch_id: batch.batch_id, stored: 0, duplicate: true, chain_head: (await store.auditHead(key))?.hash ?? existing.chain_head };
  }
  const integrity = checkBatchIntegrity(batch, rawRecords, installationId);
  if (!integrity.ok) throw new ControlHttpError(422, 'audit_batch_invalid', `audit batch ${batch.batch_id} is not a valid hash chain: ${integrity.message}`);

  const head = await store.auditHead(key);
  const held = !head && installationId !== undefined ? await heldByEarlierEnrollment(ctx, installationId, batch) : undefined;
  if (held?.through === batch.last_seq) {
    // Uploaded before under the earlier enrollment's id (the device re-enrolled before it saw the ack): stored once.
    return { batch_id: batch.batch_id, stored: 0, duplicate: true, chain_head: held.head.hash };
  }
  if (held) {
    throw new AuditChainGap(
      `batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) repeats records seq ${batch.first_seq}–${held.through} that an earlier enrollment of this installation uploaded ` +
      `(stored as ${held.chain}, which ends at seq ${held.head.seq}): send the records after seq ${held.head.seq}`,
      held.head,
    );
  }
  const overlap = overlapWithStored(batch, head);
  // Only for a chain held nowhere here that the batch does not start: it may go on from an earlier enrollment.
  const continues = !head && batch.first_seq !== chainStartOf(batch) && installationId !== undefined
    ? await enrollmentChainContinued(ctx, installationId, batch)
    : undefined;
  const decision = decideAuditAppend(batch, head, overlap && await store.auditHashes(key, overlap.fromSeq, overlap.throughSeq), continues);
  // A reused batch id whose records fork the stored chain (a replaced audit database numbers its
  // batches as the old one did) is that fork first: the device learns where the chain ends.
  if (decision.kind === 'gap') throw new AuditChainGap(decision.message, decision.head, decision.differsAtSeq);
  if (existing) {
    throw new ControlHttpError(409, 'idempotency_key_reused', `batch_id ${batch.batch_id} was already used for a different batch (seq ${existing.first_seq}–${existing.last_seq}); give every new batch a new batch_id`);
  }
  if (decision.kind === 'already_stored') {
    return { batch_id: batch.batch_id, stored: 0, duplicate: true, chain_head: head!.hash };
  }

  const row: StoredAuditBatch = {
    device_id: key,
    batch_id: batch.batch_id,
    digest,
    first_seq: batch.first_seq,
    last_seq: batch.last_seq,
    chain_head: batch.chain_head,
    stored: batch.records.length,
    received_at: ctx.now().toISOString(),
  };
  const records = batch.records.map((r, i) => ({ seq: r.seq, prev_hash: r.prev_hash, hash: r.hash, record_json: JSON.stringify(rawRecords[i]) }));
  // Described before the insert and stored with it: the log line alone is lost if the server dies in between.
  const event = decision.kind === 'new_chain' ? await describeNewChain(ctx, batch, key, decision.startSeq)
    : !head && continues !== undefined ? describeContinuation(batch, key, continues)
      : undefined;
  const outcome = await store.insertAuditBatch(row, records, event);
  if (outcome === 'conflict') {
    // Another server instance stored overlapping records between our read and our write: decide again.
    if (retryOnConflict) return storeBatch(ctx, batch, rawRecords, digest, false, installationId);
    throw new ControlHttpError(409, 'audit_chain_gap', `audit batch ${batch.batch_id} conflicts with records stored concurrently; retry the upload`);
  }
  if (event) ctx.log[event.kind === 'enrollment_continued' ? 'info' : 'warn'](event.message, event.details);
  return { batch_id: batch.batch_id, stored: records.length, duplicate: false, chain_head: batch.chain_head };
}

/**
 * The event (and log line) for a device's new chain. Not an error (the device's audit database was
 * replaced or reverted, it pruned records while it had no Edge Control configured, or this server's
 * database was restored from a backup lacking records the device has pruned since), but never silent: the earlier chains stay as they were, and IT should know the
 * device's history continues in a new one, and, against each chain held for the device, which seqs it
 * holds as sent, where it holds other records, and which seqs no chain holds.
 */
async function describeNewChain(ctx: ServerContext, batch: AuditBatch, key: string, startSeq: number): Promise<NewAuditChainEvent> {
  const event = { device_id: batch.device_id, chain: key, starts_at_seq: startSeq, batch_id: batch.batch_id };
  const start = { startSeq, prevHash: batch.records[0]!.prev_hash, records: batch.records.map((r) => ({ seq: r.seq, hash: r.hash })) };
  const chains = await otherChainsOf(ctx, batch.device_id, key, start);
  const comparison = compareNewChain(start, chains);
  const linked = comparison.continues;
  // The chain it follows: the one holding the record it links to, else the first it conflicts with, else the most recently uploaded one.
  const earlier = linked ?? comparison.differsFrom[0]?.chain ?? chains[0]?.key;
  const earlierEnd = chains.find((chain) => chain.key === earlier)?.head.seq ?? 0;
  const against = describeComparison(comparison, startSeq);
  const summary = against.length > 0 ? ` Against each chain held for the device: ${against.join('; ')}.` : '';
  const fields = {
    device_id: batch.device_id, chain_id: batch.chain_id, stored_as: key, starts_at_seq: startSeq,
    ...(earlier ? { earlier_chain: earlier } : {}), earlier_chain_ends_at_seq: earlierEnd, continues_earlier_chain: linked !== undefined,
    held_by: comparison.heldBy.map((h) => ({ chain: h.chain, seqs: range(h.seqs) })),
    differs_from: comparison.differsFrom.map((d) => ({ chain: d.chain, at_seq: d.atSeq, conflicting_seqs: range(d.conflicting) })),
  };
  const [first] = comparison.differsFrom;
  if (first) {
    // Chains holding other records under these seqs: a fork, whether or not the new one links to an
    // earlier chain's record before it (a database reverted to an earlier copy of itself does).
    const cause = startSeq === 1
      ? 'its audit database was replaced'
      : 'its audit database was replaced, or reverted to an earlier copy of itself: a VM snapshot, a restored backup, or power loss that lost its newest commits';
    const fork = linked ? ` Both hold the same records through seq ${startSeq - 1} and part after it.` : '';
    const conflicts = comparison.differsFrom.map((d) => `its earlier chain ${d.chain}: this server holds other records for seq ${range(d.conflicting)} there`).join(', and with ');
    return {
      ...event,
      kind: 'fork',
      message: `device started a new audit chain at seq ${startSeq} that conflicts with ${conflicts} (${cause}).${fork}${summary} ` +
        'All are kept; compare them to see which records the device lost or rewrote',
      details: { ...fields, conflicting_seqs: range(first.conflicting) },
    };
  }
  if (startSeq === 1) {
    const held = comparison.heldBy.length > 0 ? 'this server holds some of its records in another chain, as sent' : 'this server holds none of its records';
    return { ...event, kind: 'new_chain', message: `device started a new audit chain at seq 1, stored beside its earlier chains (${held}).${summary}`, details: fields };
  }
  const missing = linked === undefined && comparison.notHeld.length > 0 ? comparison.notHeld.map(range).join(', ') : undefined;
  const chain = earlier ? `its earlier chain ${earlier}` : 'an earlier chain';
  const why = earlier
    ? '(it pruned them at its queue cap while it had no Edge Control configured; or it had uploaded them and pruned them since, ' +
      'and this server\'s database was restored from a backup older than that upload; or its audit database was replaced)'
    : '(this server holds nothing earlier of the device: it was configured on the device after those records were written; ' +
      'or this server\'s database was restored from a backup older than the device\'s first upload, and they are lost here)';
  const how = linked
    ? `it continues ${chain} after seq ${startSeq - 1} (the device could not continue that chain's later records)`
    : missing
      ? `the device's records seq ${missing} are not held here ${why}`
      : `it does not continue ${chain} at seq ${startSeq - 1} (the device's audit database was replaced or restored from a copy)`;
  return {
    ...event,
    kind: 'new_chain',
    message: `device started a new audit chain at seq ${startSeq}, stored beside its earlier chain: ${how}.${summary}`,
    details: { ...fields, ...(missing ? { records_not_uploaded: missing } : {}) },
  };
}

/** A re-enrolled device's first batch under its new id, going on from what an earlier enrollment uploaded. */
function describeContinuation(batch: AuditBatch, key: string, continues: string): NewAuditChainEvent {
  return {
    kind: 'enrollment_continued', device_id: batch.device_id, chain: key, starts_at_seq: batch.first_seq, batch_id: batch.batch_id,
    message: `device enrolled again: its audit chain continues at seq ${batch.first_seq} from what it uploaded as ${continues}`,
    details: { device_id: batch.device_id, stored_as: key, continues, starts_at_seq: batch.first_seq },
  };
}

/** Every other chain held for the device, with its hashes over what the new chain's first batch covers. */
async function otherChainsOf(ctx: ServerContext, deviceId: string, newKey: string, start: NewChainStart): Promise<ComparedChain[]> {
  const chains: ComparedChain[] = [];
  for (const chain of await ctx.store.auditChains(deviceId)) {
    if (chain.key === newKey) continue;
    const seqs = comparedSeqs(start, chain);
    chains.push({ ...chain, hashes: seqs ? await ctx.store.auditHashes(chain.key, seqs.from, seqs.through) : [] });
  }
  return chains;
}

/**
 * A device that enrolled again files its batches under its new id, and may resend under it a batch the
 * earlier enrollment already uploaded (it re-enrolled before that upload's ack reached it). When a chain of
 * an earlier enrollment of the same installation holds the batch's records from its first one with the
 * same hashes, those records are held here: `through` is the last of them (the batch's last seq when it
 * holds them all), `head` where that chain ends.
 */
async function heldByEarlierEnrollment(ctx: ServerContext, installationId: string, batch: AuditBatch): Promise<{ chain: string; through: number; head: AuditChainHead } | undefined> {
  for (const deviceId of await ctx.store.deviceIdsOfInstallation(installationId)) {
    if (deviceId === batch.device_id) continue;
    for (const chain of await ctx.store.auditChains(deviceId)) {
      if (batch.first_seq < chain.first_seq || batch.first_seq > chain.head.seq) continue;
      const through = Math.min(batch.last_seq, chain.head.seq);
      const stored = await ctx.store.auditHashes(chain.key, batch.first_seq, through);
      // A hash covers its prev_hash, so equal hashes from the first record on are the same history.
      const same = stored.length === through - batch.first_seq + 1 && stored.every((r, i) => r.hash === batch.records[i]!.hash);
      if (same) return { chain: chain.key, through, head: chain.head };
    }
  }
  return undefined;
}

/**
 * A device that enrolled again gets a new device id, but its audit outbox goes on where its uploads
 * under the earlier id ended: the chain of an earlier enrollment of the same installation whose head the
 * batch's first record links to, if any. Only the head: the installation id is the device's claim, and a
 * batch linking to a record before it would store another (or the same) history of seqs that chain already
 * holds as if it simply went on; such a batch gets the 409 of a chain held nowhere here, and the device
 * starts a new chain, which is logged as one.
 */
async function enrollmentChainContinued(ctx: ServerContext, installationId: string, batch: AuditBatch): Promise<string | undefined> {
  const prevHash = batch.records[0]!.prev_hash;
  for (const deviceId of await ctx.store.deviceIdsOfInstallation(installationId)) {
    if (deviceId === batch.device_id) continue;
    for (const chain of await ctx.store.auditChains(deviceId)) {
      if (chain.head.seq === batch.first_seq - 1 && chain.head.hash === prevHash) return chain.key;
    }
  }
  return undefined;
}

function digestOf(raw: unknown): string {
  return createHash('sha256').update(canonicalJson(raw)).digest('hex');
}
