import { z } from 'zod';

/**
 * `data` of an `event: policy` on GET /api/edge/v1/policy/stream: a newer bundle exists for this
 * device. The event carries no policy itself; the device fetches GET /api/edge/v1/policy (with
 * If-None-Match) and verifies what it gets, so the stream needs no signature of its own.
 * The server sends one event right after the stream opens, so a device that reconnects catches up.
 */
export const PolicyEventSchema = z.strictObject({
  version: z.number().int().positive(),
  /** The ETag GET /api/edge/v1/policy answers for that version (quoted, as in the header). */
  etag: z.string().min(1),
});

export type PolicyEvent = z.output<typeof PolicyEventSchema>;

/** Heartbeat comments keep proxies from closing an idle stream and let the device notice a dead one. */
export const POLICY_STREAM_HEARTBEAT_SECONDS = 15;
