import { announcedBundleFields } from '../protocol/bundle-fields.js';
import type { EnrollmentRequest, EnrollmentResponse } from '../protocol/enrollment.js';
import { EnrollmentRequestSchema } from '../protocol/enrollment.js';
import { BUNDLE_FIELDS_HEADER } from '../protocol/paths.js';
import type { VirtualKey } from '../protocol/virtual-key.js';
import type { DeviceRecord, Subject } from './control-store.js';
import { hashDeviceCredential, newDeviceCredential, newDeviceId } from './device-credentials.js';
import { reportedVersionProblem } from './enrollment-version-floor.js';
import { ControlHttpError, parseWire, readJsonBody, sendJson, wantsBundleBinding } from './http-io.js';
import type { RouteHandler, ServerContext } from './server-context.js';

/** POST /api/edge/v1/enroll: proves who the device is for, then issues a device id and credential. */
export const enrollRoute: RouteHandler = async (ctx, req, res) => {
  const request = parseWire(EnrollmentRequestSchema, await readJsonBody(req, 64 * 1024), 'enrollment request');
  const identity = request.method === 'oidc' ? await oidcIdentity(ctx, request.token, request.access_token) : await virtualKeyIdentity(ctx, request);
  if (request.policy_version !== undefined) {
    const problem = reportedVersionProblem(request.policy_version, await ctx.store.highestBundleVersion());
    if (problem) throw new ControlHttpError(400, 'invalid_request', problem);
  }

  const credential = newDeviceCredential();
  const device: DeviceRecord = {
    device_id: newDeviceId(),
    credential_hash: hashDeviceCredential(credential),
    enrollment_method: request.method,
    subject: identity.subject,
    hostname: request.device.hostname,
    enrolled_at: ctx.now().toISOString(),
    apps_seen: [],
    mcp_servers_seen: [],
  };
  if (identity.virtualKeyId !== undefined) device.virtual_key_id = identity.virtualKeyId;
  if (wantsBundleBinding(req)) device.bundle_binding = true;
  const fields = announcedBundleFields(req.headers[BUNDLE_FIELDS_HEADER]);
  if (fields.length > 0) device.bundle_fields = fields;
  if (request.policy_version !== undefined) device.policy_version_floor = request.policy_version;
  if (request.device.os !== undefined) device.os = request.device.os;
  if (request.device.installation_id !== undefined) device.installation_id = request.device.installation_id;
  if (request.device.agent_version !== undefined) device.agent_version = request.device.agent_version;
  await ctx.store.createDevice(device);
  // Publish right away so the first GET /policy is a plain read. A device whose first bundle cannot
  // be built is not kept: every later republish would trip over it, and the device enrolls again anyway.
  try {
    await ctx.publisher.publishFor(device);
  } catch (err) {
    await ctx.store.deleteDevice(device.device_id);
    throw err;
  }
  ctx.log.info('device enrolled', { device_id: device.device_id, method: request.method, subject: device.subject.sub, hostname: device.hostname });

  const response: EnrollmentResponse = {
    device_id: device.device_id,
    device_credential: credential,
    subject: device.subject,
    // Every key the ring trusts, so a device enrolling mid-rotation already trusts the next key.
    signing_keys: ctx.signingKeys.trusted(),
    poll_interval_seconds: ctx.publisher.currentTemplate().template.sync.poll_interval_seconds,
  };
  sendJson(res, 201, response);
};

interface Identity {
  subject: Subject;
  virtualKeyId?: string;
}

async function oidcIdentity(ctx: ServerContext, token: string, accessToken: string | undefined): Promise<Identity> {
  if (!ctx.verifier.enabled) {
    throw new ControlHttpError(403, 'forbidden', 'this control server has no identity provider configured (oidc.issuers is empty); enroll with a virtual key if the admin allows it, or ask the admin to configure OIDC');
  }
  return { subject: await ctx.verifier.verify(token, accessToken) };
}

async function virtualKeyIdentity(ctx: ServerContext, request: Extract<EnrollmentRequest, { method: 'virtual_key' }>): Promise<Identity> {
  if (!ctx.config.allow_virtual_key_enrollment) {
    throw new ControlHttpError(403, 'virtual_key_enrollment_disabled', 'enrollment with a virtual key is disabled on this control server; sign in with your identity provider instead (or ask the admin to set allow_virtual_key_enrollment)');
  }
  let key = findKey(ctx.watcher.keys(), request.virtual_key);
  if (!key) {
    // The key may be newer than our last poll: read the gateway again before refusing (rate-limited,
    // since anyone can send enrollments).
    await ctx.watcher.refreshForUnknownKey();
    const keys = ctx.watcher.keys();
    if (keys === undefined) {
      throw new ControlHttpError(503, 'gateway_unavailable', `the control server cannot read virtual keys from the gateway (${ctx.watcher.error() ?? 'not read yet'}); try again shortly`, { 'retry-after': '5' });
    }
    key = findKey(keys, request.virtual_key);
  }
  if (!key) throw new ControlHttpError(401, 'virtual_key_not_found', 'the gateway does not know this virtual key; check it for typos or ask your admin for a valid one (a key created at the gateway within the last minute may not be known yet: try again shortly)');
  if (key.is_active === false) throw new ControlHttpError(403, 'virtual_key_inactive', `virtual key "${key.name}" is disabled at the gateway; ask your admin to re-enable it`);
  const subject: Subject = { sub: `virtual-key:${key.id}`, groups: [] };
  if (key.name) subject.name = key.name;
  return { subject, virtualKeyId: key.id };
}

function findKey(keys: readonly VirtualKey[] | undefined, value: string): VirtualKey | undefined {
  return keys?.find((k) => k.value === value);
}
