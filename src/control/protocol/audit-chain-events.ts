import { z } from 'zod';

/**
 * GET …/admin/audit/chain-events: what happened to devices' audit chains (a new chain, a fork, an
 * enrollment continuing an earlier one's chain), stored with the batch that caused it, so an admin
 * sees it without reading the server's logs.
 */
export const AdminAuditChainEventsQuerySchema = z.strictObject({
  // Described here, so the OpenAPI document's query parameters say it too.
  device_id: z.string().min(1).optional().describe('A device id: its events (those of the chains it started later included).'),
  after: z.coerce.number().int().nonnegative().default(0).describe('Cursor: `next_after` of the previous page.'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Events per page.'),
});

export const AuditChainEventSchema = z.strictObject({
  /** Server-side cursor, increasing in arrival order. */
  id: z.number().int().positive(),
  /** new_chain: the device started a further chain; fork: one holding other records under seqs an earlier chain holds; enrollment_continued. */
  kind: z.enum(['new_chain', 'fork', 'enrollment_continued']),
  device_id: z.string(),
  /** Where the chain is stored: the device id, or "<device>/chain-<chain_id>" (the admin audit query's device_id). */
  chain: z.string(),
  starts_at_seq: z.number().int().positive(),
  batch_id: z.string(),
  created_at: z.string().datetime({ offset: true }),
  /** What the server logged: which chain it follows, which seqs another chain holds as sent or with other records, which no chain holds. */
  message: z.string(),
  /** The log line's fields (held_by, differs_from, conflicting_seqs, records_not_uploaded, …). */
  details: z.record(z.string(), z.unknown()),
});

export const AdminAuditChainEventsResponseSchema = z.strictObject({
  events: z.array(AuditChainEventSchema),
  /** Pass as `after` for the next page; absent when this page was the last. */
  next_after: z.number().int().positive().optional(),
});

export type AuditChainEvent = z.output<typeof AuditChainEventSchema>;
export type AdminAuditChainEventsResponse = z.output<typeof AdminAuditChainEventsResponseSchema>;
