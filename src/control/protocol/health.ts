import { z } from 'zod';

/** GET /api/edge/v1/health (no auth): for load balancers and the serve command's operators. */
export const HealthResponseSchema = z.strictObject({
  /** `starting` until the gateway's virtual keys have been read once (bundles cannot be built before). */
  status: z.enum(['ok', 'starting']),
  /** `ok`, `not read yet`, or `stale: <last error>` when polling the gateway fails. */
  gateway: z.string(),
  policy_revision: z.number().int().nonnegative(),
});

export type HealthResponse = z.output<typeof HealthResponseSchema>;
