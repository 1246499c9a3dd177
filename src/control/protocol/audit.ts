import { z } from 'zod';

export const AuditDecisionSchema = z.enum(['allowed', 'blocked', 'redacted', 'flagged', 'failed']);

/** A guardrail finding as audited: the type and rule, never the matched text. */
export const AuditFindingSchema = z.strictObject({
  type: z.string(),
  rule_id: z.string(),
  action: z.enum(['block', 'redact', 'flag']),
  /** Where in the request, e.g. `messages[1].content`. */
  location: z.string().optional(),
});

/** One decision about one request, as the device records and ships it. */
export const AuditRecordSchema = z.strictObject({
  request_id: z.string().min(1),
  ts: z.string().datetime({ offset: true }),
  device_id: z.string().min(1),
  user: z.strictObject({ sub: z.string().optional(), email: z.string().optional() }).optional(),
  virtual_key_id: z.string().optional(),
  app: z.string(),
  host: z.string(),
  method: z.string().optional(),
  path: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().nullish(),
  decision: AuditDecisionSchema,
  /** Bifrost / Edge error type for blocks and failures (`model_blocked`, `guardrail_blocked`, `upstream_unreachable`, …). */
  reason: z.string().optional(),
  message: z.string().optional(),
  findings: z.array(AuditFindingSchema).default([]),
  status: z.number().int().optional(),
  latency_ms: z.number().nonnegative(),
  usage: z.strictObject({ input_tokens: z.number().int().nonnegative(), output_tokens: z.number().int().nonnegative() }).optional(),
  cost_usd: z.number().nonnegative().optional(),
  /**
   * Edge's own estimate, charged to the key's budgets and limits because the provider never reported
   * the exchange's usage (a stream stopped early, a request abandoned after it was sent): the prompt,
   * and the answer text that streamed by, at four characters a token. Not provider figures: `usage`
   * and `cost_usd` stay what the provider reported (absent here). Only in records for a receiver that
   * announced it accepts the field (AUDIT_RECORD_FIELDS_HEADER): servers that predate it refuse it.
   */
  estimated_usage: z.strictObject({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    /** What the estimate cost at the policy's prices; absent when the model's price is unknown. */
    cost_usd: z.number().nonnegative().optional(),
  }).optional(),
  /** Prompt content per the policy's retention: a digest, the text, or nothing. */
  content: z.discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('digest'), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    z.strictObject({ mode: z.literal('full'), text: z.string(), truncated: z.boolean().default(false) }),
  ]).optional(),
  policy_version: z.number().int().nonnegative().optional(),
});

/**
 * Record fields added after the audit format's first version. A device writes one only for a receiver
 * that announced it (AUDIT_RECORD_FIELDS_HEADER); this server's own schema accepts them all.
 */
export const ANNOUNCED_AUDIT_RECORD_FIELDS = ['estimated_usage'] as const;
export type AnnouncedAuditRecordField = (typeof ANNOUNCED_AUDIT_RECORD_FIELDS)[number];

/** A record with its place in the device's hash chain: hash = SHA-256(prev_hash ‖ canonicalJson(record)). */
export const ChainedAuditRecordSchema = z.strictObject({
  seq: z.number().int().positive(),
  record: AuditRecordSchema,
  prev_hash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A device audit database's chain identity: 32 lowercase hex digits, random, fixed when the database is created. */
export const AuditChainIdSchema = z.string().regex(/^[0-9a-f]{32}$/);

/** POST /api/edge/v1/audit/batches — also sent as the `Idempotency-Key` header: `batch_id`. */
export const AuditBatchSchema = z.strictObject({
  device_id: z.string().min(1),
  /** Idempotency key: the same batch sent twice is acknowledged twice and stored once. */
  batch_id: z.string().min(1),
  first_seq: z.number().int().positive(),
  last_seq: z.number().int().positive(),
  /** Hash of the last record in the batch: the device's chain head at upload time. */
  chain_head: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * Set only by a device whose audit database is not the one that wrote the chain Edge Control holds
   * for it (the old one was damaged and moved aside): the new database's chain, kept by the server
   * beside the device's first chain, never merged into it. Such a chain starts at seq 1 from the
   * genesis hash. Absent: the device's first chain.
   */
  chain_id: AuditChainIdSchema.optional(),
  /**
   * With `chain_id` only: the seq this further chain starts at, when not 1. The device no longer holds
   * (or never sent Edge Control) its records before it: they were pruned at its queue cap while it had
   * no Edge Control configured, or Edge Control holds nothing of its chain (configured on the device
   * after they were written, or restored from a backup older than the device's first upload, 409 with
   * an empty chain head). The server stores such a chain from this seq when it holds nothing of
   * it yet, and logs where it starts; a batch of a chain it holds nothing of that starts elsewhere is a
   * gap (409), so records lost in a server restore are resent, never skipped. The first record's
   * prev_hash links it to the device's record before it.
   */
  chain_start_seq: z.number().int().positive().optional(),
  records: z.array(ChainedAuditRecordSchema).min(1).max(5000),
});

export const AuditAckSchema = z.strictObject({
  batch_id: z.string(),
  /** Records newly stored by this call (0 for a duplicate). */
  stored: z.number().int().nonnegative(),
  duplicate: z.boolean(),
  /** The server's view of the device's chain head after this batch. */
  chain_head: z.string(),
});

/**
 * The 409 answer to a batch that does not continue the chain the server holds: the usual error body,
 * plus where that chain ends, so the device can resend what the server lacks (its database was
 * restored from a backup) or tell that the server holds a different chain. `chain_head` is seq 0 and
 * the genesis hash when the server holds nothing of the batch's chain.
 */
export const AuditChainGapErrorSchema = z.strictObject({
  error: z.strictObject({
    type: z.literal('audit_chain_gap'),
    message: z.string().min(1),
    chain_head: z.strictObject({
      seq: z.number().int().nonnegative(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
    }).optional(),
  }),
});

/**
 * On a 409 `audit_chain_gap` for a batch that overlaps the stored chain with other records: the first
 * seq of the batch whose record the server does not hold as sent (it holds the ones before it, the
 * same records with the same hashes). A header, not a body field: devices before it parse the error
 * body strictly and would lose `chain_head` to an unknown field.
 */
export const AUDIT_DIFFERS_AT_SEQ_HEADER = 'edge-audit-differs-at-seq';

export type AuditDecision = z.output<typeof AuditDecisionSchema>;
export type AuditFinding = z.output<typeof AuditFindingSchema>;
export type AuditRecord = z.output<typeof AuditRecordSchema>;
export type AuditRecordInput = z.input<typeof AuditRecordSchema>;
export type ChainedAuditRecord = z.output<typeof ChainedAuditRecordSchema>;
export type AuditBatch = z.output<typeof AuditBatchSchema>;
export type AuditAck = z.output<typeof AuditAckSchema>;
export type AuditChainGapError = z.output<typeof AuditChainGapErrorSchema>;
