import {
  AdminAuditQuerySchema, PolicyTemplateSchema, StoredAuditRecordSchema,
  type AdminAuditResponse, type AdminDevice, type AdminDevicesResponse, type AdminPolicyResponse,
} from '../protocol/admin.js';
import { AdminAuditChainEventsQuerySchema, AuditChainEventSchema, type AdminAuditChainEventsResponse } from '../protocol/audit-chain-events.js';
import { compileGuardrailPolicy } from '../../guardrails/compile-policy.js';
import { unknownGuardrailFields } from '../../guardrails/policy.js';
import type { StoredPolicyTemplate } from './control-store.js';
import { ControlHttpError, parseWire, readJsonBody, sendJson } from './http-io.js';
import { authenticateAdmin, type RouteHandler } from './server-context.js';

/** GET /api/edge/v1/admin/policy: the current Edge policy template and its revision. */
export const getAdminPolicyRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  sendJson(res, 200, policyResponse(ctx.publisher.currentTemplate()));
};

/** PUT /api/edge/v1/admin/policy: replaces the template; every affected device gets a new version, pushed at once. */
export const putAdminPolicyRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  const template = parseWire(PolicyTemplateSchema, await readJsonBody(req, 4 * 1024 * 1024), 'policy template');
  checkGuardrails(template.guardrails);
  const { template: stored, republished } = await ctx.publisher.updateTemplate(template);
  ctx.log.info('policy template edited by an admin', { revision: stored.revision, republished_devices: republished });
  sendJson(res, 200, { ...policyResponse(stored), republished_devices: republished });
};

/**
 * The guardrail section is carried as opaque JSON, so the schema above does not check it: a section the
 * agents cannot compile (a misspelt field, a regex their engine refuses) would be pushed to every device,
 * which keeps its previous guardrails and logs an error the admin never sees. The admin hears it here.
 */
function checkGuardrails(section: unknown): void {
  if (section === undefined) return;
  const unknown = unknownGuardrailFields(section);
  const compiled = compileGuardrailPolicy(section);
  const problems = [
    ...(unknown.length > 0 ? [`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; remove them or check their spelling`] : []),
    ...(compiled.ok ? [] : compiled.errors),
  ];
  if (problems.length > 0) throw new ControlHttpError(400, 'invalid_request', `policy template is invalid: guardrails: ${problems.join('; ')}`);
}

/** GET /api/edge/v1/admin/devices: enrolled devices with inventory and policy versions. */
export const adminDevicesRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  const devices: AdminDevice[] = [];
  for (const d of await ctx.store.listDevices()) {
    const latest = await ctx.store.latestBundle(d.device_id);
    const out: AdminDevice = {
      device_id: d.device_id,
      enrollment_method: d.enrollment_method,
      subject: d.subject,
      hostname: d.hostname,
      enrolled_at: d.enrolled_at,
      apps_seen: d.apps_seen,
      mcp_servers_seen: d.mcp_servers_seen,
      connected_streams: ctx.hub.connectedStreams(d.device_id),
    };
    if (d.os !== undefined) out.os = d.os;
    if (d.agent_version !== undefined) out.agent_version = d.agent_version;
    if (d.last_seen_at !== undefined) out.last_seen_at = d.last_seen_at;
    if (d.reported_policy_version !== undefined) out.reported_policy_version = d.reported_policy_version;
    if (latest) out.latest_policy_version = latest.version;
    devices.push(out);
  }
  const body: AdminDevicesResponse = { devices };
  sendJson(res, 200, body);
};

/**
 * GET /api/edge/v1/admin/audit?device_id=&after=&limit=: stored audit records in arrival order, paged. A device id
 * also selects the chains the device started later (`<device>/chain-<id>`).
 */
export const adminAuditRoute: RouteHandler = async (ctx, req, res, url) => {
  authenticateAdmin(ctx, req);
  const query = parseWire(AdminAuditQuerySchema, Object.fromEntries(url.searchParams), 'audit query');
  const rows = await ctx.store.listAuditRecords({ after: query.after, limit: query.limit, ...(query.device_id !== undefined ? { deviceId: query.device_id } : {}) });
  const records = rows.map((row) => {
    const parsed = StoredAuditRecordSchema.safeParse({
      id: row.id, device_id: row.device_id, batch_id: row.batch_id, seq: row.seq, prev_hash: row.prev_hash,
      hash: row.hash, received_at: row.received_at, record: JSON.parse(row.record_json),
    });
    if (!parsed.success) throw new ControlHttpError(500, 'internal_error', `stored audit record ${row.id} no longer matches the audit schema`);
    return parsed.data;
  });
  const body: AdminAuditResponse = { records };
  const last = rows[rows.length - 1];
  if (rows.length === query.limit && last) body.next_after = last.id;
  sendJson(res, 200, body);
};

function policyResponse(stored: StoredPolicyTemplate): AdminPolicyResponse {
  return { revision: stored.revision, updated_at: stored.updated_at, template: stored.template };
}

/**
 * GET /api/edge/v1/admin/audit/chain-events?device_id=&after=&limit=: new chains, forks and enrollment
 * continuations, stored with the batch that caused them (never only in a log line), in arrival order, paged.
 */
export const adminAuditChainEventsRoute: RouteHandler = async (ctx, req, res, url) => {
  authenticateAdmin(ctx, req);
  const query = parseWire(AdminAuditChainEventsQuerySchema, Object.fromEntries(url.searchParams), 'audit chain events query');
  const rows = await ctx.store.listAuditChainEvents({ after: query.after, limit: query.limit, ...(query.device_id !== undefined ? { deviceId: query.device_id } : {}) });
  const body: AdminAuditChainEventsResponse = { events: rows.map((row) => AuditChainEventSchema.parse(row)) };
  const last = rows[rows.length - 1];
  if (rows.length === query.limit && last) body.next_after = last.id;
  sendJson(res, 200, body);
};
