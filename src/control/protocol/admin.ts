import { z } from 'zod';
import { AuditRecordSchema } from './audit.js';
import { SeenAppSchema, SeenMcpServerSchema } from './heartbeat.js';
import { PolicyBundleSchema } from './policy-bundle.js';

/**
 * The Edge policy an admin edits: everything in a bundle except what the server fills in per device
 * (the user's virtual keys, subject and device id) and per publication (version, issue time, schema tag, the
 * signing keys to trust — those come from the server's key ring, see admin-signing-keys.ts).
 */
export const PolicyTemplateSchema = PolicyBundleSchema.omit({
  schema: true,
  version: true,
  issued_at: true,
  subject: true,
  device_id: true,
  virtual_keys: true,
  active_virtual_key_id: true,
  signing_keys: true,
});

/** GET /api/edge/v1/admin/policy, and the answer to PUT. */
export const AdminPolicyResponseSchema = z.strictObject({
  /** Goes up by one with every PUT. Bundle versions are per device and move independently. */
  revision: z.number().int().nonnegative(),
  updated_at: z.string().datetime({ offset: true }),
  template: PolicyTemplateSchema,
  /** PUT only: devices that got a new bundle version because of this change. */
  republished_devices: z.number().int().nonnegative().optional(),
});

export const AdminDeviceSchema = z.strictObject({
  device_id: z.string(),
  enrollment_method: z.enum(['oidc', 'virtual_key']),
  subject: z.strictObject({
    sub: z.string(),
    email: z.string().optional(),
    name: z.string().optional(),
    groups: z.array(z.string()),
  }),
  hostname: z.string(),
  os: z.string().optional(),
  agent_version: z.string().optional(),
  enrolled_at: z.string().datetime({ offset: true }),
  last_seen_at: z.string().datetime({ offset: true }).optional(),
  /** What the device said it enforces at its last heartbeat. */
  reported_policy_version: z.number().int().positive().optional(),
  /** The newest bundle published for it. */
  latest_policy_version: z.number().int().positive().optional(),
  apps_seen: z.array(SeenAppSchema),
  mcp_servers_seen: z.array(SeenMcpServerSchema),
  /** Number of connected push streams right now. */
  connected_streams: z.number().int().nonnegative(),
});

export const AdminDevicesResponseSchema = z.strictObject({
  devices: z.array(AdminDeviceSchema),
});

/** Query of GET /api/edge/v1/admin/audit. */
export const AdminAuditQuerySchema = z.strictObject({
  device_id: z.string().min(1).optional(),
  /** Cursor: `next_after` of the previous page. */
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const StoredAuditRecordSchema = z.strictObject({
  /** Server-side cursor, increasing in arrival order. */
  id: z.number().int().positive(),
  device_id: z.string(),
  batch_id: z.string(),
  seq: z.number().int().positive(),
  prev_hash: z.string(),
  hash: z.string(),
  received_at: z.string().datetime({ offset: true }),
  record: AuditRecordSchema,
});

export const AdminAuditResponseSchema = z.strictObject({
  records: z.array(StoredAuditRecordSchema),
  /** Pass as `after` for the next page; absent when this page was the last. */
  next_after: z.number().int().positive().optional(),
});

export type PolicyTemplate = z.output<typeof PolicyTemplateSchema>;
export type PolicyTemplateInput = z.input<typeof PolicyTemplateSchema>;
export type AdminPolicyResponse = z.output<typeof AdminPolicyResponseSchema>;
export type AdminDevice = z.output<typeof AdminDeviceSchema>;
export type AdminDevicesResponse = z.output<typeof AdminDevicesResponseSchema>;
export type AdminAuditQuery = z.output<typeof AdminAuditQuerySchema>;
export type StoredAuditRecord = z.output<typeof StoredAuditRecordSchema>;
export type AdminAuditResponse = z.output<typeof AdminAuditResponseSchema>;
