import { createHash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import { ANNOUNCED_AUDIT_RECORD_FIELDS, AUDIT_DIFFERS_AT_SEQ_HEADER, AuditBatchSchema, type AuditAck, type AuditBatch, type AuditChainGapError } from '../protocol/audit.js';
import { AUDIT_RECORD_FIELDS_HEADER, IDEMPOTENCY_KEY_HEADER } from '../protocol/paths.js';
import { auditChainKey, chainStartOf, checkBatchIntegrity, decideAuditAppend, overlapWithStored } from './audit-chain-check.js';
import type { AuditChainHead, NewAuditChainEvent, StoredAuditBatch, StoredAuditChain } from './control-store.js';
import { boundedClauses, compareNewChain, comparedSeqs, describeComparison, firstListed, range, type ComparedChain, type NewChainStart } from './new-chain-comparison.js';
import { matchEnrollmentChain, type EnrollmentChainMatch } from './enrollment-chain-match.js';
import { newChainAllowance, newChainTimesNeeded, type NewChainAllowance } from './new-chain-rate.js';
import { coalescedNewChainEvent } from './new-chain-coalescing.js';
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
  // Only for a chain held nowhere here: an earlier enrollment of the installation may hold it, or the history it goes on from.
  const match = !head && installationId !== undefined
    ? await matchEnrollmentChain(store, installationId, batch, batch.first_seq !== chainStartOf(batch))
    : undefined;
  if (match?.kind === 'held' && match.through === batch.last_seq) {
    // Uploaded before under the earlier enrollment's id (the device re-enrolled before it saw the ack): stored once.
    return { batch_id: batch.batch_id, stored: 0, duplicate: true, chain_head: match.head.hash };
  }
  if (match?.kind === 'held') throw earlierEnrollmentHolds(batch, match);
  if (match?.kind === 'diverges') throw earlierEnrollmentDiverges(batch, match);
  const overlap = overlapWithStored(batch, head);
  const continues = match?.kind === 'continues' ? match.chain : undefined;
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
  // A new chain, or a continuation of an earlier enrollment's chain under a new key: both start a chain here.
  const startsAt = decision.kind === 'new_chain' ? decision.startSeq : !head && continues !== undefined ? batch.first_seq : undefined;
  const allowance = startsAt === undefined ? undefined : await newChainAllowanceOf(ctx, batch.device_id);
  // Described before the insert and stored with it: the log line alone is lost if the server dies in between.
  // Beyond the device's limit the chain is stored all the same, but not compared: one event counts them.
  const event = allowance?.ok === false
    ? coalescedNewChainEvent(await store.latestNewChainEvent(batch.device_id),
      { device_id: batch.device_id, chain: key, starts_at_seq: startsAt!, batch_id: batch.batch_id }, allowance.limit, row.received_at)
    : decision.kind === 'new_chain' ? await describeNewChain(ctx, batch, key, decision.startSeq, installationId)
      : !head && continues !== undefined ? describeContinuation(batch, key, continues)
        : undefined;
  const outcome = await store.insertAuditBatch(row, records, event);
  if (outcome === 'conflict') {
    // Another server instance stored overlapping records between our read and our write: decide again.
    if (retryOnConflict) return storeBatch(ctx, batch, rawRecords, digest, false, installationId);
    throw new ControlHttpError(409, 'audit_chain_gap', `audit batch ${batch.batch_id} conflicts with records stored concurrently; retry the upload`);
  }
  // A coalesced event counting one more chain was warned of when it opened.
  if (event) ctx.log[event.updates !== undefined ? 'debug' : event.kind === 'enrollment_continued' ? 'info' : 'warn'](event.message, event.details);
  return { batch_id: batch.batch_id, stored: records.length, duplicate: false, chain_head: batch.chain_head };
}

/**
 * The event (and log line) for a device's new chain. Not an error (the device's audit database was
 * replaced or reverted, it pruned records while it had no Edge Control configured, or this server's
 * database was restored from a backup lacking records the device has pruned since), but never silent: the earlier chains stay as they were, and IT should know the
 * device's history continues in a new one, and, against each chain held for the device (and for the other
 * enrollments of its installation), which seqs it holds as sent, where it holds other records, and which seqs
 * no chain holds. Bounded: a few chains are named per finding, the rest counted (MAX_LISTED_CHAINS).
 */
async function describeNewChain(ctx: ServerContext, batch: AuditBatch, key: string, startSeq: number, installationId: string | undefined): Promise<NewAuditChainEvent> {
  const event = { device_id: batch.device_id, chain: key, starts_at_seq: startSeq, batch_id: batch.batch_id };
  const start = { startSeq, prevHash: batch.records[0]!.prev_hash, records: batch.records.map((r) => ({ seq: r.seq, hash: r.hash })) };
  const chains = await otherChainsOf(ctx, batch.device_id, installationId, key, start);
  const comparison = compareNewChain(start, chains);
  const linked = comparison.continues;
  // The chain it follows: the one holding the record it links to, else the first it conflicts with, else the most recently uploaded one.
  const earlier = linked ?? comparison.differsFrom[0]?.chain ?? chains[0]?.key;
  const earlierEnd = chains.find((chain) => chain.key === earlier)?.head.seq ?? 0;
  const against = describeComparison(comparison, startSeq);
  const summary = against.length > 0 ? ` Against each chain held for the device: ${against.join('; ')}.` : '';
  const heldBy = firstListed(comparison.heldBy);
  const differsFrom = firstListed(comparison.differsFrom);
  // Bounded however many chains the device holds: the first few of each list, and counts.
  const fields = {
    device_id: batch.device_id, chain_id: batch.chain_id, stored_as: key, starts_at_seq: startSeq,
    ...(earlier ? { earlier_chain: earlier } : {}), earlier_chain_ends_at_seq: earlierEnd, continues_earlier_chain: linked !== undefined,
    chains_compared: chains.length,
    held_by: heldBy.listed.map((h) => ({ chain: h.chain, seqs: range(h.seqs) })),
    differs_from: differsFrom.listed.map((d) => ({ chain: d.chain, at_seq: d.atSeq, conflicting_seqs: range(d.conflicting) })),
    ...(heldBy.more > 0 ? { held_by_count: comparison.heldBy.length } : {}),
    ...(differsFrom.more > 0 ? { differs_from_count: comparison.differsFrom.length } : {}),
  };
  const [first] = comparison.differsFrom;
  if (first) {
    // Chains holding other records under these seqs: a fork, whether or not the new one links to an
    // earlier chain's record before it (a database reverted to an earlier copy of itself does).
    const cause = startSeq === 1
      ? 'its audit database was replaced'
      : 'its audit database was replaced, or reverted to an earlier copy of itself: a VM snapshot, a restored backup, or power loss that lost its newest commits';
    const fork = linked ? ` Both hold the same records through seq ${startSeq - 1} and part after it.` : '';
    const conflicts = [
      ...differsFrom.listed.map((d) => `its earlier chain ${d.chain}: this server holds other records for seq ${range(d.conflicting)} there`),
      ...(differsFrom.more > 0 ? [`${differsFrom.more} more of its chains`] : []),
    ].join(', and with ');
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
  const missing = linked === undefined && comparison.notHeld.length > 0 ? boundedClauses(comparison.notHeld.map(range), 'ranges').join(', ') : undefined;
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

/**
 * Every other chain held for the device and for the other enrollments of its installation (a re-enrolled
 * or cloned device's history may go on from, or part from, what an earlier enrollment uploaded), with their
 * hashes over what the new chain's first batch covers: index lookups per chain, no pass over their records.
 */
async function otherChainsOf(ctx: ServerContext, deviceId: string, installationId: string | undefined, newKey: string, start: NewChainStart): Promise<ComparedChain[]> {
  const owners = installationId === undefined ? [deviceId] : [deviceId, ...(await ctx.store.deviceIdsOfInstallation(installationId)).filter((id) => id !== deviceId)];
  const chains: StoredAuditChain[] = [];
  for (const owner of owners) chains.push(...(await ctx.store.auditChains(owner)).filter((chain) => chain.key !== newKey));
  const lastSeq = start.records[start.records.length - 1]?.seq ?? start.startSeq - 1;
  const compared = chains.filter((chain) => comparedSeqs(start, chain) !== undefined).map((chain) => chain.key);
  const hashes = compared.length === 0 ? new Map<string, AuditChainHead[]>() : await ctx.store.auditHashesOfChains(compared, Math.max(start.startSeq - 1, 1), lastSeq);
  return chains.map((chain) => ({ ...chain, hashes: hashes.get(chain.key) ?? [] }));
}

/** 409 for a batch whose first records an earlier enrollment's chain holds: it names that chain's head, so the device counts them as acknowledged. */
function earlierEnrollmentHolds(batch: AuditBatch, match: Extract<EnrollmentChainMatch, { kind: 'held' }>): AuditChainGap {
  const held = `batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) repeats records seq ${batch.first_seq}–${match.through} that an earlier enrollment of this installation uploaded ` +
    `(stored as ${match.chain}, which ends at seq ${match.head.seq})`;
  if (match.differsAtSeq === undefined) return new AuditChainGap(`${held}: send the records after seq ${match.head.seq}`, match.head);
  return new AuditChainGap(
    `${held}, but that chain holds other records from seq ${match.differsAtSeq} on: this device's audit database was reverted or copied after that upload. ` +
      `Upload the records from seq ${match.differsAtSeq} on as a new chain`,
    match.head, match.differsAtSeq,
  );
}

/**
 * 409 for a batch linking to a record of an earlier enrollment's chain before that chain's head (a device
 * re-enrolled from a reverted snapshot, or a clone, whose history parts after what was uploaded). It is not
 * stored as if that chain went on: the answer names the chain's head, which the device does not hold, so it
 * uploads these records as a new chain, and that chain's event says where the two part.
 */
function earlierEnrollmentDiverges(batch: AuditBatch, match: Extract<EnrollmentChainMatch, { kind: 'diverges' }>): AuditChainGap {
  return new AuditChainGap(
    `batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) goes on from seq ${match.linkedSeq} of the chain an earlier enrollment of this installation uploaded ` +
      `(stored as ${match.chain}), but that chain holds other records from seq ${match.linkedSeq + 1} on (through seq ${match.head.seq}): this device's audit database ` +
      `was reverted or copied after that upload. Upload these records as a new chain from seq ${batch.first_seq}`,
    match.head, batch.first_seq,
  );
}

/** Whether the device's next chain is still compared with its other chains (NEW_CHAIN_LIMITS). */
async function newChainAllowanceOf(ctx: ServerContext, deviceId: string): Promise<NewChainAllowance> {
  const recent = (await ctx.store.recentNewChainTimes(deviceId, newChainTimesNeeded())).map((t) => Date.parse(t));
  return newChainAllowance(recent, ctx.now().getTime());
}

function digestOf(raw: unknown): string {
  return createHash('sha256').update(canonicalJson(raw)).digest('hex');
}
