import { z } from 'zod';

/** An AI app the device saw traffic from since its last heartbeat. */
export const SeenAppSchema = z.strictObject({
  /** Catalog id when the app matched an entry, otherwise a stable local name (user agent product, process). */
  app: z.string().min(1).max(200),
  host: z.string().max(255).optional(),
  status: z.enum(['approved', 'denied', 'pending']).optional(),
  last_seen: z.string().datetime({ offset: true }),
  requests: z.number().int().nonnegative().optional(),
});

/** An MCP server the device saw (through the stdio wrapper or decrypted HTTP). */
export const SeenMcpServerSchema = z.strictObject({
  name: z.string().min(1).max(200),
  transport: z.enum(['stdio', 'http', 'sse']).optional(),
  /** Command line or URL, without secrets. */
  target: z.string().max(2000).optional(),
  tools: z.array(z.string().max(200)).max(1000).optional(),
  last_seen: z.string().datetime({ offset: true }),
});

/** POST /api/edge/v1/heartbeat: liveness and inventory, a few times an hour. */
export const HeartbeatRequestSchema = z.strictObject({
  agent_version: z.string().min(1).max(100),
  /** Version of the bundle the device enforces right now; absent before the first one. */
  policy_version: z.number().int().positive().optional(),
  /** `edge-control` (signed bundle), `bifrost-quota` or `none`. */
  policy_source: z.enum(['edge-control', 'bifrost-quota', 'none']).optional(),
  os: z.string().max(100).optional(),
  apps_seen: z.array(SeenAppSchema).max(1000).default([]),
  mcp_servers_seen: z.array(SeenMcpServerSchema).max(1000).default([]),
});

export const HeartbeatResponseSchema = z.strictObject({
  received_at: z.string().datetime({ offset: true }),
  /** Latest bundle for this device, so a device whose push stream is down learns it is behind. */
  policy: z.strictObject({ version: z.number().int().positive(), etag: z.string() }).optional(),
});

export type SeenApp = z.output<typeof SeenAppSchema>;
export type SeenMcpServer = z.output<typeof SeenMcpServerSchema>;
export type HeartbeatRequest = z.output<typeof HeartbeatRequestSchema>;
export type HeartbeatRequestInput = z.input<typeof HeartbeatRequestSchema>;
export type HeartbeatResponse = z.output<typeof HeartbeatResponseSchema>;
