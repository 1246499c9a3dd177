import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../log.js';
import { describeSigningKey } from '../protocol/bundle-signature.js';
import type { SigningPublicKey } from '../protocol/enrollment.js';
import type { HealthResponse } from '../protocol/health.js';
import { EdgeControlPaths } from '../protocol/paths.js';
import { adminAuditChainEventsRoute, adminAuditRoute, adminDevicesRoute, getAdminPolicyRoute, putAdminPolicyRoute } from './admin-routes.js';
import { auditBatchRoute } from './audit-route.js';
import type { BackgroundWorkHooks } from './background-index-build.js';
import { keyringFileOf, parseControlServerConfig, type ControlServerConfigInput } from './config.js';
import type { ControlStore } from './control-store.js';
import { enrollMethodsRoute } from './enrollment-methods-route.js';
import { enrollRoute } from './enrollment-route.js';
import { fetchGatewayVirtualKeys } from './gateway-admin-client.js';
import { GatewayKeyWatcher } from './gateway-key-watcher.js';
import { heartbeatRoute } from './heartbeat-route.js';
import { ControlHttpError, sendError, sendJson } from './http-io.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';
import { OidcTokenVerifier } from './oidc-token-verifier.js';
import { getPolicyRoute, policyStreamRoute } from './policy-routes.js';
import { PolicyPublisher } from './policy-publisher.js';
import { PolicyStreamHub } from './policy-stream-hub.js';
import type { RouteHandler, ServerContext } from './server-context.js';
import { listSigningKeysRoute, promoteSigningKeyRoute, retireSigningKeyRoute, rotateSigningKeyRoute } from './signing-key-routes.js';
import { SigningKeyring } from './signing-keyring.js';
import { SqliteControlStore } from './sqlite-control-store.js';

export interface StartControlServerOptions {
  log?: Logger;
  /** Storage to use instead of the SQLite file named in the config (e.g. a server database). */
  store?: ControlStore;
  now?: () => Date;
  /** Hooks into the store's background work (tests hold an index build with them). */
  backgroundWork?: BackgroundWorkHooks;
}

export interface RunningControlServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The active bundle-signing public key (changes on promotion), for pinning on devices. */
  readonly signingKey: SigningPublicKey;
  /** Every key devices trust now: active first, then an announced next key and previous keys. */
  signingKeys(): SigningPublicKey[];
  /** Reads the gateway's virtual keys now (instead of waiting for the poll); true when they changed. */
  refreshGatewayKeys(): Promise<boolean>;
  /** The store's background work (ControlStore.startBackgroundWork) being over: built, failed, stopped, or none. */
  backgroundWorkDone(): Promise<void>;
  close(): Promise<void>;
}

interface Route {
  method: string;
  path: string;
  handle: RouteHandler;
}

const ROUTES: Route[] = [
  { method: 'POST', path: EdgeControlPaths.enroll, handle: enrollRoute },
  { method: 'GET', path: EdgeControlPaths.enrollMethods, handle: enrollMethodsRoute },
  { method: 'GET', path: EdgeControlPaths.policy, handle: getPolicyRoute },
  { method: 'GET', path: EdgeControlPaths.policyStream, handle: policyStreamRoute },
  { method: 'POST', path: EdgeControlPaths.auditBatches, handle: auditBatchRoute },
  { method: 'POST', path: EdgeControlPaths.heartbeat, handle: heartbeatRoute },
  { method: 'GET', path: EdgeControlPaths.adminPolicy, handle: getAdminPolicyRoute },
  { method: 'PUT', path: EdgeControlPaths.adminPolicy, handle: putAdminPolicyRoute },
  { method: 'GET', path: EdgeControlPaths.adminDevices, handle: adminDevicesRoute },
  { method: 'GET', path: EdgeControlPaths.adminAudit, handle: adminAuditRoute },
  { method: 'GET', path: EdgeControlPaths.adminAuditChainEvents, handle: adminAuditChainEventsRoute },
  { method: 'GET', path: EdgeControlPaths.adminSigningKeys, handle: listSigningKeysRoute },
  { method: 'POST', path: EdgeControlPaths.adminSigningKeysRotate, handle: rotateSigningKeyRoute },
  { method: 'POST', path: EdgeControlPaths.adminSigningKeysPromote, handle: promoteSigningKeyRoute },
  { method: 'POST', path: EdgeControlPaths.adminSigningKeysRetire, handle: retireSigningKeyRoute },
  { method: 'GET', path: EdgeControlPaths.health, handle: healthRoute },
];

/**
 * The reference Edge Control server: enrollment, signed policy bundles with push, audit intake and
 * heartbeats, next to a Bifrost gateway whose virtual keys it mirrors into bundles.
 */
export async function startControlServer(input: ControlServerConfigInput, options: StartControlServerOptions = {}): Promise<RunningControlServer> {
  const config = parseControlServerConfig(input);
  const log = options.log ?? createLogger(config.log_level);
  const now = options.now ?? (() => new Date());
  const store = options.store ?? new SqliteControlStore(config.storage.sqlite_path);
  const cleanup: Array<() => unknown> = [() => store.close()];
  try {
    const signingKeys = await SigningKeyring.open({ file: keyringFileOf(config), legacyKeyFile: config.signing_key_file, log, now });
    const hub = new PolicyStreamHub(config.push.heartbeat_seconds * 1000);
    cleanup.push(() => hub.close());
    // The publisher asks the watcher for keys and the watcher tells the publisher about changes;
    // neither calls the other before both exist (the watcher starts below).
    const publisher: PolicyPublisher = new PolicyPublisher({
      store, hub, signingKeys, log, now,
      assignments: config.assignments,
      gatewayUrl: config.gateway.public_url ?? config.gateway.url,
      gatewayKeys: () => watcher.keys(),
    });
    const watcher = new GatewayKeyWatcher({
      read: () => fetchGatewayVirtualKeys({ url: config.gateway.url, ...(config.gateway.admin_auth ? { auth: config.gateway.admin_auth } : {}), timeoutMs: config.gateway.request_timeout_seconds * 1000, log }),
      intervalMs: config.gateway.poll_interval_seconds * 1000,
      log,
      now,
      onChange: async () => {
        await publisher.republishAll('virtual keys changed at the gateway');
      },
    });
    cleanup.push(() => watcher.stop());
    await publisher.init(config.policy);
    await watcher.start();

    const ctx: ServerContext = {
      config, store, publisher, hub, watcher, signingKeys, log, now,
      verifier: new OidcTokenVerifier(config.oidc.issuers),
      auditQueue: new KeyedSerialQueue(),
    };
    const server = http.createServer((req, res) => {
      handle(ctx, req, res).catch((err: unknown) => {
        log.error(`unexpected error in ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) sendError(res, new ControlHttpError(500, 'internal_error', 'the control server failed unexpectedly; see its log'));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Only now: the server answers (health probes too) while it runs.
    const background = store.startBackgroundWork?.(log, options.backgroundWork);
    const port = (server.address() as AddressInfo).port;
    const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      port,
      get signingKey() {
        return describeSigningKey(signingKeys.active().publicKey);
      },
      signingKeys: () => signingKeys.trusted(),
      refreshGatewayKeys: () => watcher.refresh(),
      backgroundWorkDone: async () => {
        await background?.done;
      },
      close() {
        closing ??= (async () => {
          watcher.stop();
          hub.close();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await background?.stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const step of cleanup.reverse()) await step();
    throw err;
  }
}

async function handle(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const candidates = ROUTES.filter((r) => r.path === url.pathname);
  const route = candidates.find((r) => r.method === method);
  try {
    if (!route) {
      if (candidates.length === 0) throw new ControlHttpError(404, 'not_found', `no Edge Control route ${method} ${url.pathname}; see docs/edge-control-openapi.json`);
      const allow = candidates.map((r) => r.method).join(', ');
      throw new ControlHttpError(405, 'method_not_allowed', `${method} ${url.pathname} is not allowed; use ${allow}`, { allow });
    }
    await route.handle(ctx, req, res, url);
  } catch (err) {
    if (!(err instanceof ControlHttpError)) throw err;
    if (err.status >= 500) ctx.log.warn(`${method} ${url.pathname} → ${err.status} ${err.type}: ${err.message}`);
    else ctx.log.debug(`${method} ${url.pathname} → ${err.status} ${err.type}: ${err.message}`);
    if (res.headersSent) res.destroy();
    else sendError(res, err);
  }
}

async function healthRoute(ctx: ServerContext, _req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const keys = ctx.watcher.keys();
  const gatewayError = ctx.watcher.error();
  const body: HealthResponse = {
    status: keys === undefined ? 'starting' : 'ok',
    gateway: keys === undefined ? 'not read yet' : gatewayError ? `stale: ${gatewayError}` : 'ok',
    policy_revision: ctx.publisher.currentTemplate().revision,
  };
  sendJson(res, 200, body);
}
