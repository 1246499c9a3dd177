/**
 * Every Edge Control route, in one place: the server's router, the device client and the OpenAPI
 * document all read these, so a path cannot drift between them. Versioned under `/api/edge/v1/`;
 * a breaking change gets `/api/edge/v2/` next to it, never an in-place edit.
 */
export const EDGE_CONTROL_BASE_PATH = '/api/edge/v1';

export const EdgeControlPaths = {
  enroll: `${EDGE_CONTROL_BASE_PATH}/enroll`,
  enrollMethods: `${EDGE_CONTROL_BASE_PATH}/enroll/methods`,
  policy: `${EDGE_CONTROL_BASE_PATH}/policy`,
  policyStream: `${EDGE_CONTROL_BASE_PATH}/policy/stream`,
  auditBatches: `${EDGE_CONTROL_BASE_PATH}/audit/batches`,
  heartbeat: `${EDGE_CONTROL_BASE_PATH}/heartbeat`,
  adminPolicy: `${EDGE_CONTROL_BASE_PATH}/admin/policy`,
  adminDevices: `${EDGE_CONTROL_BASE_PATH}/admin/devices`,
  adminAudit: `${EDGE_CONTROL_BASE_PATH}/admin/audit`,
  adminAuditChainEvents: `${EDGE_CONTROL_BASE_PATH}/admin/audit/chain-events`,
  adminSigningKeys: `${EDGE_CONTROL_BASE_PATH}/admin/signing-keys`,
  adminSigningKeysRotate: `${EDGE_CONTROL_BASE_PATH}/admin/signing-keys/rotate`,
  adminSigningKeysPromote: `${EDGE_CONTROL_BASE_PATH}/admin/signing-keys/promote`,
  adminSigningKeysRetire: `${EDGE_CONTROL_BASE_PATH}/admin/signing-keys/retire`,
  health: `${EDGE_CONTROL_BASE_PATH}/health`,
} as const;

/** SSE event name on the policy stream that announces a new bundle. */
export const POLICY_EVENT_NAME = 'policy';

/**
 * Sent (with the value BUNDLE_BINDING_DEVICE) on POST /enroll and GET /policy by devices that check
 * `bundle.device_id`; the server then names the device in every bundle it issues for it. Devices
 * that do not send it (agents that predate the field, whose strict schema would refuse a bundle
 * carrying it) keep getting bundles without it. Older servers ignore the header.
 */
export const BUNDLE_BINDING_HEADER = 'edge-bundle-binding';
export const BUNDLE_BINDING_DEVICE = 'device';

/**
 * Sent on POST /enroll and GET /policy: the optional bundle fields the device understands, comma-separated
 * (bundle-fields.ts GATED_BUNDLE_FIELDS, e.g. `duration_pricing`). The server leaves the others out of the
 * device's bundles, since an agent's strict schema refuses a bundle with a field it does not know. Devices that do
 * not send it get none of those fields. Older servers ignore the header.
 */
export const BUNDLE_FIELDS_HEADER = 'edge-bundle-fields';

/** Header carrying an audit batch's idempotency key (must equal the body's `batch_id`). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/**
 * On Edge Control's answers to audit uploads: the optional record fields, added to the audit format
 * after its first version, that this server accepts (comma-separated, e.g. `estimated_usage`). The
 * record schema is strict, so a server that predates a field refuses every batch holding it (and the
 * device's uploads would stall behind that batch): a device writes such a field only once the server
 * it uploads to has announced it. Older servers do not send the header.
 */
export const AUDIT_RECORD_FIELDS_HEADER = 'edge-audit-record-fields';

/**
 * Absolute URL of an Edge Control route under `baseUrl`, keeping any path prefix of the base
 * (`https://corp.example.com/edge-control` + `/api/edge/v1/policy`), as for a server behind a reverse proxy.
 */
export function endpointUrl(baseUrl: string, path: string): URL {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(path.replace(/^\/+/, ''), base);
}
