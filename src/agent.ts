import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AgentConfig } from './config/schema.js';
import type { Logger } from './log.js';
import { loadOrCreateCa, type CertificateAuthority } from './ca/certificate-authority.js';
import { writeHttpMitmProxyCaDir } from './ca/http-mitm-proxy-ca-dir.js';
import { LeafCertificateStore } from './ca/leaf-certificates.js';
import { UpstreamClient } from './gateway/upstream-client.js';
import { assertPortFree, startEdgeProxy } from './proxy/edge-proxy.js';
import { removeLeftoverUploads } from './proxy/upload-spool.js';
import { createWebSocketDecision } from './proxy/websocket-decision.js';
import { processForLoopbackClient } from './proxy/process-lookup.js';
import { createLocalEndpoints } from './proxy/local-endpoints.js';
import { createRequestHandler } from './proxy/request-handler.js';
import { createProviderResolver } from './proxy/provider-resolver.js';
import { refusedTunnelRecord } from './proxy/refused-tunnel.js';
import { followedForProxy, usageNote } from './proxy/usage-note.js';
import type { ExchangeRecord } from './proxy/exchange.js';
import type { RequestInspector } from './proxy/surface-resolution.js';
import { joinUrl, type UpstreamSettings } from './gateway/upstream-plan.js';
import { planWebSocketUpstream, webSocketVia, type WebSocketRoute } from './gateway/websocket-route.js';
import { appFromUserAgent } from './proxy/app-attribution.js';
import { header } from './util/header.js';
import type { NormalizedRequest } from './providers/types.js';
import { guardrailInspector } from './proxy/inspectors/guardrails.js';
import { contentSafetyInspector } from './proxy/inspectors/content-safety.js';
import { createStreamScanner } from './guardrails/stream-scanner.js';
import { ModerationClient } from './gateway/moderation-client.js';
import { GuardrailPolicyHolder } from './proxy/inspectors/guardrail-policy-holder.js';
import { openPolicyDatabase } from './policy/policy-database.js';
import { SqliteCounterStore } from './policy/counter-store.js';
import { SqliteShadowAiRegistry } from './policy/shadow-ai.js';
import { PolicyEnforcer, type BackgroundCharge } from './policy/enforcer.js';
import { SqliteBackgroundStore } from './policy/background-store.js';
import { readConfiguredCaFiles, readConfiguredPolicyFile } from './config/configured-files.js';
import { isSignedIn } from './policy/signed-in.js';
import { TRUE_UP_ERROR_TYPE, trueUpMessage } from './policy/true-up-note.js';
import type { PolicyBundle } from './control/protocol/policy-bundle.js';
import { GatewayHealth } from './gateway/gateway-health.js';
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { CloserStack } from './closer-stack.js';
import { RecentActivity } from './proxy/recent-activity.js';
import { packageRoot } from './package-root.js';
import { caBundlePath, writeCaBundle } from './installers/edge-paths.js';
import { hasPolicySource, startAuditAndMetrics, startIdentity, startPolicySource } from './agent-services.js';
import type { SessionManager } from './auth/session.js';
import type { SafeStorageLike } from './auth/safe-storage-token-store.js';
import { createAgentMcp } from './mcp/agent-mcp.js';
import { checkListedTools } from './mcp/tool-list-guardrails.js';
import { InFlightExchanges, SHUTTING_DOWN_REFUSAL } from './in-flight-exchanges.js';
import { visibleMcpTools } from './policy/mcp-tools.js';
import { auditQueueSignal, type AuditQueueSignal } from './tray/agent-status.js';

export interface RunningAgent {
  /**
   * Whether the audit outbox is near or at its cap (unsent records pile up) or cannot be written, and
   * whom its records wait for: the tray warns.
   */
  auditQueue(): AuditQueueSignal;
  proxyUrl: string;
  port: number;
  caPath: string;
  /**
   * The sign-in the agent enrolls and forwards with (when `auth` is configured). The desktop app's
   * tray signs in and out through this same session: a second one would keep its own tokens.
   */
  session?: SessionManager;
  close(): Promise<void>;
}

export interface StartAgentOptions {
  log: Logger;
  inspectors?: RequestInspector[];
  onRecord?: (record: ExchangeRecord) => void;
  /** Electron's safeStorage (desktop app only): protects the sign-in tokens and the device credential. */
  safeStorage?: SafeStorageLike;
  /** How long a background response's usage is waited for before its estimate is charged (tests shorten it). Default an hour. */
  backgroundTimeoutMs?: number;
}

/** Folder of the device CA inside the data dir; `bifrost-edge ca path` points here too. */
export function caDirectory(dataDir: string): string {
  return path.join(dataDir, 'ca');
}

export async function ensureCa(dataDir: string, log: Logger): Promise<CertificateAuthority> {
  return loadOrCreateCa({ dir: caDirectory(dataDir), log: (msg) => log.info(msg) });
}

/**
 * Composition root: wires configuration, the CA, the provider layer, the forwarder and the proxy
 * into a running agent. The CLI, the Electron shell and tests all start Edge through here.
 */
export async function startAgent(config: AgentConfig, options: StartAgentOptions): Promise<RunningAgent> {
  // Before anything else: a second agent on the same data dir would share its databases and runtime.json.
  const lock = acquireDataDirLock(config.dataDir);
  // Everything the start opens, closed in reverse: by close(), or at once when a later step fails.
  const opened = new CloserStack();
  opened.push('the data dir lock', () => lock.release());
  try {
    return await startLocked(config, options, opened);
  } catch (err) {
    for (const failure of await opened.closeAll()) options.log.warn(`after a failed start, ${failure.message}`);
    throw err;
  }
}

async function startLocked(config: AgentConfig, options: StartAgentOptions, opened: CloserStack): Promise<RunningAgent> {
  const { log } = options;
  // Before anything opens files, timers or other listeners that a failed start would leave behind.
  await assertPortFree(config.proxy.host, config.proxy.port);
  // In the data dir, not the shared temp folder: the uploads are the user's prompts and files. The data dir is
  // this agent's alone (its lock), so an upload spooled there now was left by an Edge that was killed: removed.
  const uploadSpoolDir = path.join(config.dataDir, 'uploads');
  try {
    removeLeftoverUploads(uploadSpoolDir);
  } catch (err) {
    log.warn('could not remove the uploads a previous Bifrost Edge left in its data dir; remove them by hand', { path: uploadSpoolDir, reason: (err as Error).message });
  }
  const ca = await ensureCa(config.dataDir, log);
  const mitmCaDir = path.join(config.dataDir, 'mitm-ca');
  await writeHttpMitmProxyCaDir(ca, mitmCaDir);
  const certificates = await LeafCertificateStore.create(ca);
  // Public roots + our CA, for the CLI tools whose CA variable replaces their trust store (ca env). Only
  // those tools need it, so a failed write is a warning, not a failed start (nor, later, a crash).
  await writeCaBundle(config.dataDir, ca.certPem).catch((err: unknown) => {
    log.warn('could not write the CA bundle for command-line tools; `bifrost-edge ca env` points them at it, so they will not trust Edge until it is written (check the data dir is writable, then restart Edge)', {
      path: caBundlePath(config.dataDir), reason: (err as Error).message,
    });
  });

  const extraCaPems = readConfiguredCaFiles(config);
  const upstream = new UpstreamClient({
    connectTimeoutMs: config.gateway?.connectTimeoutMs ?? 10_000,
    responseTimeoutMs: config.gateway?.responseTimeoutMs ?? 600_000,
    ...(config.gateway ? { bodyIdleTimeoutMs: config.gateway.bodyIdleTimeoutMs } : {}),
    extraCaPems,
  });
  opened.push('the upstream connections', () => upstream.close());
  // The intercept list: the policy bundle's when it has one (central policy), else the configuration's,
  // else the built-in list. Read per CONNECT and per request, so a pushed list applies to the next one.
  let providers = createProviderResolver(config.interceptHosts);
  let interceptSource = JSON.stringify(config.interceptHosts ?? null);
  const applyInterceptHosts = (hosts: string[] | undefined, from: string) => {
    const wanted = JSON.stringify(hosts ?? null);
    if (wanted === interceptSource) return;
    try {
      providers = createProviderResolver(hosts);
      interceptSource = wanted;
      log.info(`intercept list from ${from}`, { hosts: hosts?.length ?? 'built-in' });
    } catch (err) {
      log.error(`ignoring the intercept list from ${from}: ${(err as Error).message}; keeping the current one`);
    }
  };
  const policyDb = openPolicyDatabase(path.join(config.dataDir, 'policy.db'), {
    onSetAside: (movedTo, error) => log.error(`the policy counters file was damaged (${error.message}); kept as ${movedTo}, counting starts over`),
  });
  opened.push('the policy database', () => { policyDb.close(); });
  const policy = new PolicyEnforcer({
    counters: new SqliteCounterStore(policyDb),
    backgroundStore: new SqliteBackgroundStore(policyDb),
    shadowAi: new SqliteShadowAiRegistry(policyDb),
    defaultMode: config.mode,
    processOf: (info) => info.process,
    onError: (err, context) => log.warn(`policy side effect failed: ${context}`, { error: (err as Error).message }),
    ...(options.backgroundTimeoutMs !== undefined ? { backgroundTimeoutMs: options.backgroundTimeoutMs } : {}),
    // Charged after its exchange was recorded: its usage gets a record of its own beside the request's, as a
    // WebSocket session's usage does. None is made before recordExchange exists: the work an earlier run left is
    // taken up (takeUpBackground) only once records can be written.
    onBackgroundCharge: (charged) => {
      void recordExchange(backgroundChargeRecord(charged)).catch((err: unknown) => log.warn(`could not record a background response's usage: ${(err as Error).message}`));
    },
  });
  /** The gateway requests go to: the policy bundle's (central policy), else the configuration's. */
  const gatewayUrl = (): string | undefined => policy.bundle?.gateway?.url ?? config.gateway?.url;
  // Health and moderation follow the gateway requests actually go to, whichever source names it; without
  // one they stay idle (health is only probed after a failed forward).
  const gatewayHealth = new GatewayHealth({ gatewayUrl, probeIntervalMs: config.gateway?.healthProbeIntervalMs, extraCaPems, onChange: (up, why) => {
    policy.setConnectivity({ gateway: up });
    if (why === 'gateway_changed') log.info('requests now go to another Bifrost gateway; the previous one\'s outage no longer applies', { gateway: gatewayUrl() });
    else if (up) log.info('the Bifrost gateway is reachable (again)', { gateway: gatewayUrl() });
    else log.warn('the Bifrost gateway is unreachable; fail mode applies', { gateway: gatewayUrl() });
  } });
  opened.push('the gateway health probes', () => gatewayHealth.close());
  const moderation = new ModerationClient({ gatewayUrl, extraCaPems });
  opened.push('the moderation client', () => moderation.close());
  const guardrails = new GuardrailPolicyHolder(config.guardrails, log);
  const activity = new RecentActivity();
  // Without a session or configured user, the bundle's subject is who Edge Control enrolled the device for.
  const identity = await startIdentity(config, log, options.safeStorage, () => policy.bundle?.subject);
  opened.push('the sign-in session', () => identity.close());
  const applyBundle = (bundle: PolicyBundle | undefined) => {
    policy.setBundle(bundle);
    gatewayHealth.noticeGatewayChange();
    if (bundle?.intercept_hosts) applyInterceptHosts(bundle.intercept_hosts, `policy version ${bundle.version}`);
    else applyInterceptHosts(config.interceptHosts, 'the configuration');
    guardrails.fromBundle(bundle);
    const user = identity.user().label ?? bundle?.subject?.email;
    const sessionSubject = identity.session?.getIdentity()?.sub;
    const signedIn = isSignedIn({
      localMode: config.mode === 'local',
      configuredKey: Boolean(config.gateway?.virtualKey),
      signInConfigured: config.auth !== undefined,
      ...(sessionSubject !== undefined ? { sessionSubject } : {}),
      ...(bundle ? { bundle: { ...(bundle.subject?.sub ? { subject: bundle.subject.sub } : {}), hasKeyValues: bundle.virtual_keys.some((k) => k.value) } } : {}),
    });
    policy.setIdentity({ signedIn, ...(user ? { user } : {}) });
  };
  applyBundle(config.policyFile ? readConfiguredPolicyFile(config.policyFile) : undefined);
  identity.session?.on('signed_in', () => applyBundle(policy.bundle));
  identity.session?.on('signed_out', () => applyBundle(policy.bundle));
  const policySource = await startPolicySource(config, { log, ...(identity.session ? { session: identity.session } : {}), apply: applyBundle, enforcer: policy, ...(options.safeStorage ? { safeStorage: options.safeStorage } : {}), mcpServersSeen: () => mcp.serversSeen() });
  opened.push('the policy source', () => policySource.close());
  const audit = await startAuditAndMetrics(config, { log, ...(policySource.sync ? { sync: policySource.sync } : {}), enforcer: policy, user: identity.user });
  opened.push('the audit trail and metrics', () => audit.close());
  policy.notices.on('notice', (notice) => log.info(`notice: ${notice.why.message}`, { kind: notice.kind, app: notice.who.app, model: notice.what.model }));
  // The steps that read a request's text, after policy: HTTP bodies and WebSocket messages go through them alike.
  const contentInspectors: RequestInspector[] = [
    ...(options.inspectors ?? []),
    guardrailInspector(() => guardrails.current),
    contentSafetyInspector({
      policy: () => guardrails.current,
      moderation,
      virtualKey: (request) => policy.routeFor(request)?.virtualKey?.value ?? config.gateway?.virtualKey,
      failMode: () => policy.bundle?.fail_mode ?? 'open',
    }),
  ];
  const inspectors: RequestInspector[] = [policy.inspector(), ...contentInspectors];
  let proxyHostPort = '';
  // A shutdown lets these finish, and closes the audit trail only after their records are written.
  const inFlight = new InFlightExchanges();
  // Closed after the proxy and before the audit trail, and before policy.db: work still waited for stays in policy.db
  // for the next start (only its timers stop), so a fetch after the restart charges its usage.
  opened.push('the background responses', async () => {
    policy.releaseBackground();
    await inFlight.settled(RECORDS_SETTLE_MS);
  });
  const recordExchange = (record: ExchangeRecord): Promise<void> => inFlight.trackRecord(writeExchangeRecord(record));
  const writeExchangeRecord = async (record: ExchangeRecord): Promise<void> => {
    mcp.observe(record);
    activity.add(record);
    options.onRecord?.(record);
    try {
      await audit.record(record);
    } catch (err) {
      // An answer that could not be recorded is delivered only when the policy fails open; failing
      // closed, the proxy cuts it off (requests are refused up front while the queue is full).
      if ((policy.bundle?.fail_mode ?? 'open') === 'closed') throw err;
      log.warn('answered without an audit record (fail-open)', { id: record.id, error: (err as Error).message });
    }
  };
  // MCP servers wrapped by `bifrost-edge mcp wrap` are decided by the same steps and recorded the same way.
  const mcp = createAgentMcp({
    inspectors: () => inspectors,
    record: recordExchange,
    bundle: () => policy.bundle,
    // The tool lists of wrapped servers are read by the guardrails before their client gets them.
    guardrails: () => guardrails.current,
    onError: (err) => log.error('MCP decision failed', { error: (err as Error).stack ?? String(err) }),
  });
  // Records can be written from here on (writeExchangeRecord's audit trail and MCP observer exist): the work an
  // earlier run left in policy.db is taken up once a bundle is applied (the configured file, or the policy source's
  // saved one; with a policy source and none usable yet, the first it brings), so work whose wait ran out meanwhile
  // is charged to the windows its key has now and recorded. A start that fails before this leaves it for the next.
  policy.takeUpBackground({ bundleExpected: hasPolicySource(config) });
  /** Where requests and WebSockets go by the configuration; the route policy chose for one overrides mode and key. */
  const forwardingSettings = (): UpstreamSettings => ({
    mode: config.mode,
    ...(gatewayUrl() !== undefined ? { gatewayUrl: gatewayUrl() } : {}),
    ...(config.gateway?.virtualKey ? { virtualKey: config.gateway.virtualKey } : {}),
    originOverrides: config.upstream.originOverrides,
  });
  /** Who the gateway attributes a request or WebSocket to (its log headers). */
  const forwardingIdentity = () => {
    const user = identity.user().label;
    return { ...(user ? { user } : {}), device: config.identity.device };
  };
  /** The mode and virtual key policy chose for a request it allowed. */
  const forwardingRoute = (request: NormalizedRequest): WebSocketRoute | undefined => {
    const route = policy.routeFor(request);
    if (!route) return undefined;
    return { mode: route.mode, ...(route.virtualKey?.value ? { virtualKey: route.virtualKey.value } : {}) };
  };
  const handler = createRequestHandler({
    resolve: (info) => providers.resolve(info),
    upstream,
    settings: () => ({
      ...forwardingSettings(),
      maxRequestBodyBytes: config.proxy.maxRequestBodyBytes,
      maxUploadBytes: config.proxy.maxUploadBytes,
      ...(config.proxy.maxUploadSpoolBytes !== undefined ? { maxUploadSpoolBytes: config.proxy.maxUploadSpoolBytes } : {}),
      uploadSpoolDir,
      requestBodyIdleTimeoutMs: config.proxy.requestBodyIdleTimeoutMs,
    }),
    identity: forwardingIdentity,
    inspectors: () => inspectors,
    processOf: processForLoopbackClient,
    visibleMcpTools: (client, tools) => visibleMcpTools(policy.bundle, client, tools, new Date()),
    checkMcpToolList: (tools, server, positions, options) => checkListedTools(tools, guardrails.current, server, positions, options),
    responseScanner: () => (guardrails.current.policy.scanResponses && guardrails.current.policy.enabled ? createStreamScanner(guardrails.current) : undefined),
    needsProcess: () => policy.bundle?.apps.catalog.some((app) => app.match.processes.length > 0) ?? false,
    routeFor: forwardingRoute,
    settle: (request) => policy.settle(request),
    follow: (request) => followedForProxy(policy.follow(request)),
    meterResponse: (request, response, onCharge, onAnsweredModel) => policy.meterResponse(request, {
      contentType: response.headers['content-type'],
      contentEncoding: response.headers['content-encoding'],
      ...(response.statusCode !== undefined ? { status: response.statusCode } : {}),
    }, (charge, estimate, answeredModel) => {
      if (answeredModel !== undefined) onAnsweredModel?.(answeredModel);
      if (charge) onCharge(usageNote(charge), 'reported');
      else if (estimate) onCharge(usageNote(estimate), 'estimated');
    }),
    onGatewayResult: (reachable) => gatewayHealth.report(reachable),
    onGatewayTimeout: () => gatewayHealth.suspectTimeout(),
    serveLocal: createLocalEndpoints({
      proxyHostPort: () => proxyHostPort,
      interceptPatterns: () => providers.hostPatterns(),
      health: () => ({ mode: config.mode }),
      activity: () => activity.list(),
      notices: () => policy.notices.recent(),
      rendererDir: path.join(packageRoot(), 'renderer'),
      status: () => ({ mode: config.mode, proxy: `http://${proxyHostPort}`, gateway: gatewayUrl() ?? null, policy: policy.status(), auditQueue: audit.trail.outbox.status(), mcpServers: mcp.serversSeen() }),
      mcp,
    }),
    onRecord: recordExchange,
    trackPendingRecord: (pending) => {
      void inFlight.trackRecord(pending);
    },
    log,
  });
  /** A tunnel the catalog refuses is a decision like any other: the trail and the activity page show it. */
  const checkConnect = (input: { host: string; userAgent?: string; intercepted: boolean }) => {
    if (inFlight.isDraining) return { action: 'block' as const, error: SHUTTING_DOWN_REFUSAL };
    const verdict = policy.checkConnect(input);
    if (verdict.action === 'block') {
      void recordExchange(refusedTunnelRecord(input, verdict)).catch((err: unknown) => log.warn(`could not record a refused tunnel: ${(err as Error).message}`));
    }
    return verdict;
  };
  const proxy = await startEdgeProxy({
    host: config.proxy.host,
    port: config.proxy.port,
    mitmCaDir,
    certificates,
    shouldIntercept: (host) => providers.isIntercepted(host),
    checkConnect,
    handleExchange: inFlight.wrap(handler),
    // The Responses API's WebSocket mode goes to the gateway in gateway mode; every other WebSocket to its origin.
    webSocketUpstream: ({ url, tunnel, tls, path: target, headers, route }) => {
      const resolution = providers.resolve({ method: 'GET', host: tunnel.host, path: target, headers });
      const settings = forwardingSettings();
      const virtualKey = route?.virtualKey ?? settings.virtualKey;
      return planWebSocketUpstream({
        settings: { ...settings, mode: route?.mode ?? settings.mode, ...(virtualKey ? { virtualKey } : {}) },
        provider: resolution.kind === 'not-ai' ? undefined : resolution.surface.provider,
        target: { host: tunnel.host, port: tunnel.port, tls, path: target, headers },
        originUrl: rewriteWebSocketUrl(url, config.upstream.originOverrides),
        attribution: { ...forwardingIdentity(), app: appFromUserAgent(header(headers['user-agent'])) },
      });
    },
    decideWebSocket: async (input) => {
      // The route policy chose for the opening (mode, the key's virtual key), read as its decision is made.
      let route: WebSocketRoute | undefined;
      const decide = createWebSocketDecision({
        resolve: (info) => providers.resolve(info),
        policy: () => {
          const inspect = policy.inspector();
          return async (step) => {
            const verdict = await inspect(step);
            if (verdict.action !== 'block') route ??= forwardingRoute(step.request);
            return verdict;
          };
        },
        record: recordExchange,
        contentInspectors: () => contentInspectors,
        maxMessageBytes: config.proxy.maxRequestBodyBytes,
        follow: (request) => followedForProxy(policy.follow(request)),
        settle: (request) => policy.settle(request),
        charge: (request, usage) => usageNote(policy.recordResponseUsage(request, usage)),
        usedUp: (request) => policy.usedUp(request),
        revoked: (request) => policy.revoked(request),
        priceOf: (request, usage) => policy.priceOf(request, usage),
        chargeSeconds: (request, seconds) => usageNote(policy.recordDurationUsage(request, seconds)),
        policyChanges: (listener) => policy.onBundleApplied(listener),
        upstreamVia: (request, target) => webSocketVia({ ...forwardingSettings(), ...forwardingRoute(request) }, target.provider, target.path),
      });
      const verdict = await decide(input);
      return verdict.action === 'allow' && route ? { ...verdict, route } : verdict;
    },
    maxWebSocketMessageBytes: config.proxy.maxRequestBodyBytes,
    extraCaPems,
    connectTimeoutMs: config.gateway?.connectTimeoutMs ?? 10_000,
    tunnelFirstBytesTimeoutMs: config.proxy.tunnelFirstBytesTimeoutMs,
    log,
  });
  opened.push('the proxy', async () => {
    await proxy.close();
    // The cut-off exchanges write their records as their connections close: the trail stays open for them.
    if (!await inFlight.settled(RECORDS_SETTLE_MS)) log.error(`shutting down: some audit records were still being written after ${RECORDS_SETTLE_MS} ms; they may be lost`);
  });
  proxyHostPort = new URL(proxy.url).host;
  writeRuntimeFile(config.dataDir, { pid: process.pid, proxy: proxy.url, ca: ca.certPath, startedAt: new Date().toISOString() });
  opened.push('runtime.json', () => removeRuntimeFile(config.dataDir));
  log.info('Bifrost Edge is running', { proxy: proxy.url, mode: config.mode, gateway: gatewayUrl(), ca: ca.certPath, metrics: audit.metricsUrl });
  return {
    auditQueue: () => auditQueueSignal(audit.trail.outbox.status()),
    proxyUrl: proxy.url,
    port: proxy.port,
    caPath: ca.certPath,
    ...(identity.session ? { session: identity.session } : {}),
    close: async () => {
      const graceMs = config.proxy.shutdownGraceMs;
      const cutOff = await inFlight.drain(graceMs);
      if (cutOff > 0) log.warn(`shutting down: ${cutOff} request(s) still in flight after ${graceMs} ms are cut off (their audit records say so); raise proxy.shutdownGraceMs to wait longer`);
      const failures = await opened.closeAll();
      // Every failure is logged here: callers that only wait for close() (the desktop app) log nothing
      // of their own. The first is still thrown, so the CLI exits with an error.
      for (const failure of failures) log.error(`shutting down: ${failure.message}`);
      if (failures[0]) throw failures[0];
    },
  };
}

/** After the grace period, how long the records of cut-off exchanges may take to be written. */
const RECORDS_SETTLE_MS = 5000;

/** The audit record of a charge made after its request's exchange was over (a background response's usage). */
function backgroundChargeRecord({ request, target, app, id: workId, charge, trueUp }: BackgroundCharge): ExchangeRecord {
  const note = usageNote(charge);
  return {
    id: randomUUID(), method: target.method, host: target.host, path: target.path, provider: request.provider, model: request.model, app,
    decision: 'forwarded', ...(charge.estimated ? { estimatedUsage: { ...note.usage, costUsd: note.costUsd } } : note),
    // A correction of the work's earlier record: its usage is the whole work's, not an amount to add to that record's.
    ...(trueUp ? { errorType: TRUE_UP_ERROR_TYPE, message: trueUpMessage(workId, trueUp) } : {}),
    findings: [], latencyMs: 0,
  };
}

/** Applies origin overrides to WebSocket URLs too (wss://api.openai.com/... → wss://127.0.0.1:PORT/...). */
function rewriteWebSocketUrl(url: string, overrides: Record<string, string>): string {
  const parsed = new URL(url);
  const override = overrides[parsed.hostname];
  if (!override) return url;
  const target = joinUrl(override, parsed.pathname + parsed.search);
  target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
  return target.toString();
}
