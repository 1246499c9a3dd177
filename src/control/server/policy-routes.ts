import type http from 'node:http';
import { announcedBundleFields } from '../protocol/bundle-fields.js';
import { BUNDLE_FIELDS_HEADER } from '../protocol/paths.js';
import type { StoredBundle } from './control-store.js';
import { ControlHttpError, sendJson, wantsBundleBinding } from './http-io.js';
import { authenticateDevice, type RouteHandler, type ServerContext } from './server-context.js';
import type { DeviceRecord } from './control-store.js';

/** GET /api/edge/v1/policy: the device's signed bundle with its ETag; 304 when If-None-Match matches. */
export const getPolicyRoute: RouteHandler = async (ctx, req, res) => {
  const device = await authenticateDevice(ctx, req);
  if (wantsBundleBinding(req) && device.bundle_binding !== true) {
    // An agent upgraded since it enrolled: from now on its bundles name it (a new version, below).
    await ctx.store.enableBundleBinding(device.device_id);
    device.bundle_binding = true;
  }
  const fields = announcedBundleFields(req.headers[BUNDLE_FIELDS_HEADER]);
  if (fields.join(',') !== announcedBundleFields(device.bundle_fields).join(',')) {
    // An agent upgraded (or rolled back) since it last said: its next bundle carries what it now understands.
    await ctx.store.setBundleFields(device.device_id, fields);
    device.bundle_fields = fields;
  }
  const bundle = await latestOrRefuse(ctx, device);
  if (etagMatches(req.headers['if-none-match'], bundle.etag)) {
    res.writeHead(304, { etag: bundle.etag, 'cache-control': 'no-cache' });
    res.end();
    return;
  }
  sendJson(res, 200, bundle.signed, { etag: bundle.etag, 'cache-control': 'no-cache' });
};

/** GET /api/edge/v1/policy/stream: SSE that announces new bundle versions for this device. */
export const policyStreamRoute: RouteHandler = async (ctx, req, res) => {
  const device = await authenticateDevice(ctx, req);
  const bundle = await ctx.publisher.publishFor(device);
  ctx.hub.open(device.device_id, res, bundle ? { version: bundle.version, etag: bundle.etag } : undefined);
};

async function latestOrRefuse(ctx: ServerContext, device: DeviceRecord): Promise<StoredBundle> {
  const bundle = await ctx.publisher.publishFor(device);
  if (bundle) return bundle;
  throw new ControlHttpError(503, 'policy_not_ready', `no policy yet: the control server has not read virtual keys from the gateway (${ctx.watcher.error() ?? 'first read pending'}); keep the current policy and retry shortly`, { 'retry-after': '5' });
}

function etagMatches(header: http.IncomingHttpHeaders['if-none-match'], etag: string): boolean {
  if (!header) return false;
  const weakless = (tag: string): string => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || weakless(tag) === etag);
}
