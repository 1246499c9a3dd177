import { AdminRetireSigningKeyRequestSchema, type AdminSigningKeysResponse } from '../protocol/admin-signing-keys.js';
import { ControlHttpError, parseWire, readJsonBody, sendJson } from './http-io.js';
import { authenticateAdmin, type RouteHandler, type ServerContext } from './server-context.js';
import { KeyRotationError } from './signing-key-rotation.js';
import type { SigningKeyring } from './signing-keyring.js';
import { supersededDevices } from './superseded-devices.js';

/** GET /api/edge/v1/admin/signing-keys: the key ring and how many devices hold its current key set. */
export const listSigningKeysRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  sendJson(res, 200, await signingKeysResponse(ctx));
};

/** POST …/signing-keys/rotate: generates the next key and announces it to every device. */
export const rotateSigningKeyRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  await applyKeyringStep(ctx, res, (ring) => ring.rotate());
};

/** POST …/signing-keys/promote: the announced key signs from now on; every device gets a bundle signed by it. */
export const promoteSigningKeyRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  await applyKeyringStep(ctx, res, (ring) => ring.promote());
};

/** POST …/signing-keys/retire `{key_id?}`: devices stop trusting the key; its private key is deleted. */
export const retireSigningKeyRoute: RouteHandler = async (ctx, req, res) => {
  authenticateAdmin(ctx, req);
  const request = parseWire(AdminRetireSigningKeyRequestSchema, await readJsonBody(req, 4 * 1024), 'retire request');
  await applyKeyringStep(ctx, res, (ring) => ring.retire(request.key_id));
};

/** Runs one rotation step, then republishes so every device hears about it in its next signed bundle. */
async function applyKeyringStep(ctx: ServerContext, res: Parameters<RouteHandler>[2], step: (ring: SigningKeyring) => Promise<string>): Promise<void> {
  let summary: string;
  try {
    summary = await step(ctx.signingKeys);
  } catch (err) {
    if (err instanceof KeyRotationError) throw new ControlHttpError(err.kind === 'not_found' ? 404 : 409, err.kind === 'not_found' ? 'not_found' : 'signing_key_conflict', err.message);
    throw err;
  }
  const republished = await ctx.publisher.republishAll(summary);
  sendJson(res, 200, { ...(await signingKeysResponse(ctx)), republished_devices: republished });
}

async function signingKeysResponse(ctx: ServerContext): Promise<AdminSigningKeysResponse> {
  const trusted = keySetId(ctx.signingKeys.trusted().map((k) => k.key_id));
  const all = await ctx.store.listDevices();
  const superseded = supersededDevices(all);
  const devices = all.filter((device) => !superseded.has(device.device_id));
  let upToDate = 0;
  for (const device of devices) {
    const latest = await ctx.store.latestBundle(device.device_id);
    if (!latest || (device.reported_policy_version ?? 0) < latest.version) continue;
    if (keySetId((latest.signed.bundle.signing_keys ?? []).map((k) => k.key_id)) === trusted) upToDate++;
  }
  return { keys: ctx.signingKeys.list(), devices: { total: devices.length, up_to_date: upToDate } };
}

function keySetId(ids: string[]): string {
  return [...ids].sort().join(',');
}
