import type http from 'node:http';
import type { Logger } from '../../log.js';
import type { ControlServerConfig } from './config.js';
import type { ControlStore, DeviceRecord } from './control-store.js';
import { hashDeviceCredential, secretsEqual } from './device-credentials.js';
import type { GatewayKeyWatcher } from './gateway-key-watcher.js';
import type { KeyedSerialQueue } from './keyed-serial-queue.js';
import { bearerToken, ControlHttpError } from './http-io.js';
import type { OidcTokenVerifier } from './oidc-token-verifier.js';
import type { PolicyPublisher } from './policy-publisher.js';
import type { PolicyStreamHub } from './policy-stream-hub.js';
import type { SigningKeyring } from './signing-keyring.js';

/** What every route handler works with; built once by startControlServer. */
export interface ServerContext {
  config: ControlServerConfig;
  store: ControlStore;
  publisher: PolicyPublisher;
  hub: PolicyStreamHub;
  watcher: GatewayKeyWatcher;
  verifier: OidcTokenVerifier;
  /** Signs bundles, says which keys devices trust, and rotates them. */
  signingKeys: SigningKeyring;
  /** Serializes audit uploads per device. */
  auditQueue: KeyedSerialQueue;
  log: Logger;
  now: () => Date;
}

export type RouteHandler = (ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void>;

/** The enrolled device behind `Authorization: Bearer <device credential>`. */
export async function authenticateDevice(ctx: ServerContext, req: http.IncomingMessage): Promise<DeviceRecord> {
  const credential = bearerToken(req);
  if (!credential) {
    throw new ControlHttpError(401, 'unauthorized', 'missing device credential: send "Authorization: Bearer <device_credential>" as returned by POST /api/edge/v1/enroll', { 'www-authenticate': 'Bearer' });
  }
  const device = await ctx.store.deviceByCredentialHash(hashDeviceCredential(credential));
  if (!device) {
    throw new ControlHttpError(401, 'unauthorized', 'unknown device credential: this device is not enrolled here (or was removed); enroll again', { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  return device;
}

/** Admin routes take the config's admin token as a bearer token. */
export function authenticateAdmin(ctx: ServerContext, req: http.IncomingMessage): void {
  const token = bearerToken(req);
  if (!token) throw new ControlHttpError(401, 'unauthorized', 'admin routes need "Authorization: Bearer <admin_token>" (admin_token in the control server config)', { 'www-authenticate': 'Bearer' });
  if (!secretsEqual(token, ctx.config.admin_token)) throw new ControlHttpError(403, 'forbidden', 'the admin token is wrong; use admin_token from the control server config');
}
