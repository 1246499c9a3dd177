import os from 'node:os';
import path from 'node:path';
import type { AgentConfig } from './config/schema.js';
import type { Logger } from './log.js';
import type { PolicyBundle } from './control/protocol/policy-bundle.js';
import type { SeenMcpServer } from './control/protocol/heartbeat.js';
import { startPolicySync, type PolicySyncClient } from './control/client/policy-sync-client.js';
import { enrollmentCredentialSource } from './control/client/enrollment-credential-source.js';
import { createDeviceCredentialStore } from './control/client/create-device-credential-store.js';
import { startQuotaPolicySync } from './control/client/quota-policy-sync.js';
import { SessionManager } from './auth/session.js';
import type { SafeStorageLike } from './auth/safe-storage-token-store.js';
import { createTokenStore } from './auth/create-token-store.js';
import { createVirtualKeyStore } from './auth/virtual-key-store.js';
import { followSavedSignIn } from './auth/saved-sign-in-adoption.js';
import { watchSavedSignIn } from './auth/saved-sign-in-watch.js';
import { openAuditTrail, type AuditTrail } from './audit/audit-trail.js';
import { auditDestinationRemedy, CONTROL_DESTINATION, describeAuditDestination } from './audit/destination-names.js';
import type { AuditQueueStatus } from './audit/errors.js';
import type { AuditQueueProblem } from './policy/fail-mode.js';
import { auditRecordFromExchange } from './audit/exchange-audit.js';
import { createEdgeMetrics, type EdgeMetrics } from './metrics/metrics.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { PolicyEnforcer } from './policy/enforcer.js';
import type { ExchangeRecord } from './proxy/exchange.js';
import { localDeviceId } from './device-identity.js';
import { agentVersion } from './version.js';
import { selectActiveKey } from './policy/active-key.js';

interface Closable {
  close(): Promise<void> | void;
}

/**
 * Who is using this device: the OIDC session when sign-in is configured, else the subject Edge Control
 * enrolled the device for (`enrolledSubject`, from the policy bundle: `virtual-key:<id>` after a
 * virtual-key sign-in), else the configured user. The configured user comes last because the person at
 * the keyboard can set it (BIFROST_EDGE_USER): it may name an unmanaged device, never overrule the
 * subject IT enrolled. Attribution headers and audit records read it per request, so a sign-in applies
 * at once.
 */
export async function startIdentity(
  config: AgentConfig,
  log: Logger,
  safeStorage?: SafeStorageLike,
  enrolledSubject: () => { sub: string; email?: string } | undefined = () => undefined,
): Promise<{ session?: SessionManager; user(): { sub?: string; email?: string; label?: string }; close(): void }> {
  const withoutSession = (): { sub?: string; email?: string; label?: string } => {
    const subject = enrolledSubject();
    if (subject) return { sub: subject.sub, ...(subject.email ? { email: subject.email } : {}), label: subject.email ?? subject.sub };
    return config.identity.user ? { email: config.identity.user, label: config.identity.user } : {};
  };
  if (!config.auth) {
    return { user: withoutSession, close: () => {} };
  }
  const store = await createTokenStore({ dataDir: config.dataDir, ...(safeStorage ? { safeStorage } : {}) });
  const described = store.describe();
  if (described.warning) log.warn(described.warning, { backend: described.backend });
  const session = new SessionManager({ config: config.auth, store, log });
  try {
    await session.start();
  } catch (err) {
    log.warn('the saved sign-in could not be used; sign in again with `bifrost-edge login`', { error: (err as Error).message });
  }
  session.on('refresh_failed', ({ signInRequired }) => {
    if (signInRequired) log.warn('your sign-in has expired: run `bifrost-edge login` (Edge keeps enforcing the last policy)');
  });
  // `bifrost-edge login` / `logout` in another process, picked up without a restart.
  const stopWatching = followSavedSignIn(session, store, log);
  return {
    session,
    user: () => {
      const identity = session.getIdentity();
      if (!identity) return withoutSession();
      return { sub: identity.sub, ...(identity.email ? { email: identity.email } : {}), label: identity.email ?? identity.sub };
    },
    close: () => {
      stopWatching();
      session.stop();
    },
  };
}

/**
 * Whether startPolicySource will deliver bundles: Edge Control, or stock Bifrost's quota route for
 * the configured virtual key. One definition, so work that waits for the first bundle (background
 * charging) and the source that sends it cannot disagree.
 */
export function hasPolicySource(config: AgentConfig): boolean {
  return config.control !== undefined || Boolean(config.gateway?.virtualKey && config.gateway.syncPolicyFromQuota);
}

/**
 * Where policy bundles come from: Edge Control (signed, pushed), stock Bifrost's quota route, or
 * nothing (configuration and an optional policy file only). Every new bundle goes to `apply`.
 */
export async function startPolicySource(
  config: AgentConfig,
  deps: { log: Logger; session?: SessionManager; apply: (bundle: PolicyBundle) => void; enforcer: PolicyEnforcer; mcpServersSeen?: () => SeenMcpServer[]; safeStorage?: SafeStorageLike },
): Promise<{ sync?: PolicySyncClient; close(): Promise<void> }> {
  const stateDir = path.join(config.dataDir, 'control');
  if (config.control) {
    const control = config.control;
    // Read at every enrollment attempt, so `bifrost-edge login --virtual-key` works without a restart.
    // No safeStorage on purpose: the key is saved by the CLI, which has none, so read where it writes.
    const signInKeys = await createVirtualKeyStore({ dataDir: config.dataDir });
    const credential = enrollmentCredentialSource({
      controlUrl: control.url,
      enrollment: control.enrollment,
      ...(config.gateway?.virtualKey ? { configuredVirtualKey: config.gateway.virtualKey } : {}),
      ...(deps.session ? { session: deps.session } : {}),
      signInKeys,
    });
    const sync = await startPolicySync({
      controlUrl: control.url,
      stateDir,
      // The device credential goes where the sign-in tokens go (keychain, Secret Service, or an
      // encrypted file), not into enrollment.json.
      credentialStore: await createDeviceCredentialStore({ stateDir, ...(deps.safeStorage ? { safeStorage: deps.safeStorage } : {}) }),
      credential,
      ...(control.pinnedPublicKeys ? { pinnedPublicKeys: control.pinnedPublicKeys } : {}),
      device: { hostname: os.hostname(), os: `${os.platform()} ${os.release()}`, agent_version: agentVersion(), installation_id: localDeviceId(config.dataDir) },
      log: deps.log,
    });
    const current = sync.current();
    if (current) deps.apply(current.bundle);
    // A sign-in enrolls at once, and for the person who signed in (not the one before them).
    deps.session?.on('signed_in', (identity) => void sync.signedIn(identity.sub));
    // `bifrost-edge login --virtual-key` in another process: enroll with the key now, not after the backoff.
    const stopWatchingKeys = watchSavedSignIn(signInKeys, {
      appeared: () => {
        if (sync.credentialMayHaveChanged()) deps.log.info('a virtual key was saved by another Bifrost Edge process (bifrost-edge login --virtual-key); enrolling with it now');
      },
    });
    // Edge Control unreachable, or not heard from since the start, is a fail-mode condition: fail-closed
    // stops AI requests until it answers.
    const reportReachability = () => {
      const { reachable, confirmed, cannotCall, problem } = sync.reachability();
      deps.enforcer.setConnectivity({ controlPlane: reachable, controlPlaneConfirmed: confirmed, controlPlaneCallable: cannotCall === undefined, controlPlaneRefusesDevice: cannotCall === 'device-refused', controlPlaneProblem: problem });
    };
    const stopReportingReachability = sync.onReachabilityChange(reportReachability);
    reportReachability();
    const unsubscribe = sync.onBundle((active) => {
      deps.log.info('applying policy bundle', { version: active.bundle.version, origin: active.origin });
      deps.apply(active.bundle);
    });
    const heartbeat = setInterval(() => {
      const status = deps.enforcer.status();
      sync.sendHeartbeat({
        agent_version: agentVersion(),
        ...(status.policy ? { policy_version: status.policy.version } : {}),
        policy_source: status.policy ? 'edge-control' : 'none',
        os: `${os.platform()} ${os.release()}`,
        apps_seen: deps.enforcer.appsInventory(),
        mcp_servers_seen: deps.mcpServersSeen?.() ?? [],
      }).catch((err: Error) => deps.log.debug('heartbeat failed', { error: err.message }));
    }, control.heartbeatSeconds * 1000);
    heartbeat.unref();
    return {
      sync,
      close: async () => {
        clearInterval(heartbeat);
        stopWatchingKeys();
        stopReportingReachability();
        unsubscribe();
        await sync.close();
      },
    };
  }
  // No Edge Control: nothing to be unreachable, and status says "not configured".
  deps.enforcer.setConnectivity({ controlPlane: true, controlPlaneConfigured: false });
  // Past Edge Control, a policy source is the quota route (the key test narrows the type for the call).
  if (hasPolicySource(config) && config.gateway?.virtualKey) {
    const quota = await startQuotaPolicySync({ gatewayUrl: config.gateway.url, virtualKey: config.gateway.virtualKey, stateDir, log: deps.log });
    const current = quota.current();
    if (current) deps.apply(current.bundle);
    const unsubscribe = quota.onBundle((active) => deps.apply(active.bundle));
    return { close: async () => { unsubscribe(); await quota.close(); } };
  }
  return { close: async () => {} };
}

/**
 * The record of usage a WebSocket's server reported (src/proxy/websocket-session-usage.ts), written apart
 * from the turn or session it is charged to, which has a record (and a request in the metrics) of its own.
 * Over HTTP, usage rides on the request's own record. Told apart by its shape: the socket's GET, the usage
 * or Edge's estimate of it, and no status (nothing was answered to it); an HTTP exchange reporting usage
 * is a POST, or was answered.
 */
function isWebSocketUsageRecord(exchange: ExchangeRecord): boolean {
  return exchange.method === 'GET' && exchange.status === undefined && (exchange.usage !== undefined || exchange.estimatedUsage !== undefined);
}

/** Who the records filling the audit queue wait for, and what lets them through, for people. */
function auditQueueWaitingFor(status: AuditQueueStatus): Extract<AuditQueueProblem, { kind: 'full' }> {
  const destination = status.destination ?? CONTROL_DESTINATION;
  return { kind: 'full', waitingFor: describeAuditDestination(destination), remedy: auditDestinationRemedy(destination) };
}

/** The audit outbox (and its shipper to Edge Control when enrolled) plus local metrics. */
export async function startAuditAndMetrics(
  config: AgentConfig,
  deps: { log: Logger; sync?: PolicySyncClient; enforcer: PolicyEnforcer; user: () => { sub?: string; email?: string } },
): Promise<{ record(exchange: ExchangeRecord): Promise<void>; metrics: EdgeMetrics; trail: AuditTrail; metricsUrl?: string; close(): Promise<void> }> {
  const deviceId = localDeviceId(config.dataDir);
  const sync = deps.sync;
  const trail = openAuditTrail({
    dataDir: config.dataDir,
    outbox: { maxBytes: config.audit.maxBytes },
    ...(config.control && sync ? {
      control: {
        url: config.control.url,
        credential: async () => (await sync.whenEnrolled()).credential,
        deviceId: async () => (await sync.whenEnrolled()).deviceId,
      },
      // No Edge Control configured: nothing would ever acknowledge a 'control' cursor, and records
      // waiting for it would fill the cap and then stop the recording. The outbox is a rolling local
      // log; configured later, Edge Control receives the records written from then on (a destination
      // added later starts at the head: the history would fill the queue at once; `audit tail` shows
      // it). A 'control' cursor left by an earlier, enrolled run is kept (not deleted): its uploads
      // resume where Edge Control's chain ends, unless the log pruned records Edge Control had not
      // received; then that chain cannot continue, and the records from then on go to Edge Control
      // as a new chain, kept beside it (AuditOutbox resumePrimaryAtHead).
    } : { awaitEnrollment: false }),
    ...(config.audit.otlpEndpoint ? { otlp: { endpoint: config.audit.otlpEndpoint } } : {}),
    log: deps.log,
  });
  trail.outbox.on('queue_near_cap', (status) => {
    const waitingFor = auditQueueWaitingFor(status);
    deps.log.warn(`the audit queue is nearly full (${Math.floor(status.fillRatio * 100)} % of its cap): ${waitingFor.waitingFor} has not acknowledged ${status.unsentRecords} records. ${waitingFor.remedy}`, { destination: status.destination });
  });
  // A full queue, or a database that cannot be written (a full disk), is a fail-mode condition like an
  // unreachable gateway: closed refuses AI requests up front (nothing would record them), open answers
  // them unrecorded and says so in a notice.
  const reportQueueLevel = () => {
    const status = trail.outbox.status();
    const problem: AuditQueueProblem | undefined = status.unwritable !== null
      ? { kind: 'unwritable', reason: status.unwritable }
      : status.level === 'full' ? auditQueueWaitingFor(status) : undefined;
    deps.enforcer.setConnectivity({ auditQueue: problem === undefined, auditQueueProblem: problem });
  };
  for (const event of ['queue_full', 'queue_near_cap', 'queue_ok', 'queue_unwritable', 'queue_writable'] as const) trail.outbox.on(event, reportQueueLevel);
  reportQueueLevel();
  const metrics = createEdgeMetrics();
  metrics.observeAuditQueue(trail.outbox);
  const closables: Closable[] = [];
  let metricsUrl: string | undefined;
  if (config.metrics.port !== null) {
    try {
      const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: config.metrics.port });
      closables.push(server);
      metricsUrl = server.url;
    } catch (err) {
      deps.log.warn(`metrics are off: could not listen on 127.0.0.1:${config.metrics.port} (${(err as Error).message}); set metrics.port`);
    }
  }
  return {
    trail,
    metrics,
    ...(metricsUrl ? { metricsUrl } : {}),
    record: async (exchange) => {
      // Per request: only the cheap facts (status() also reads counters and the shadow-AI table).
      const bundle = deps.enforcer.bundle;
      const activeKey = bundle ? selectActiveKey(bundle, new Date()) : undefined;
      const keyId = activeKey && 'key' in activeKey ? activeKey.key.id : undefined;
      if (bundle) metrics.setPolicyVersion(bundle.version);
      const retention = bundle?.content_retention ?? { mode: 'digest' as const, max_chars: 20_000 };
      // Records carry the installation id, known from the first request on; Edge Control files the
      // batches under the enrolled device, which it knows owns this installation.
      const input = auditRecordFromExchange(exchange, {
        deviceId,
        user: deps.user(),
        ...(keyId ? { virtualKeyId: keyId } : {}),
        ...(bundle ? { policyVersion: bundle.version } : {}),
        retention: { mode: retention.mode, maxChars: retention.max_chars },
        ...(exchange.usage ? { usage: exchange.usage } : {}),
        ...(exchange.costUsd !== undefined ? { costUsd: exchange.costUsd } : {}),
        ...(exchange.estimatedUsage ? { estimatedUsage: exchange.estimatedUsage } : {}),
      });
      // Metrics count the audit record's decision (a forwarded exchange is "allowed"), so both agree.
      if (!isWebSocketUsageRecord(exchange)) {
        metrics.recordRequest({ provider: exchange.provider ?? 'none', model: exchange.model ?? 'none', decision: input.decision, app: exchange.app ?? 'unknown', durationSeconds: exchange.latencyMs / 1000 });
      }
      for (const f of exchange.findings) metrics.recordGuardrailFinding({ type: f.type, action: f.action });
      if (exchange.decision === 'failed' && exchange.errorType) metrics.recordUpstreamError({ provider: exchange.provider ?? null, reason: exchange.errorType });
      // Durable before the client gets its answer: a crash after this loses nothing that was answered.
      await trail.outbox.appendDurable(input);
    },
    close: async () => {
      for (const c of closables) await c.close();
      await trail.close();
    },
  };
}
