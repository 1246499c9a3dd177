import { silentLogger, type Logger } from '../../log.js';
import { PolicyTemplateSchema, type PolicyTemplate, type PolicyTemplateInput } from '../protocol/admin.js';
import { bundleEtag } from '../protocol/bundle-signature.js';
import { endpointUrl } from '../protocol/paths.js';
import { PolicyBundleSchema, type PolicyBundle } from '../protocol/policy-bundle.js';
import { VirtualKeyQuotaSchema, type VirtualKeyQuota } from '../protocol/virtual-key.js';
import { PolicyListeners, type ActivePolicy, type PolicySync, type SyncOutcome } from './active-policy.js';
import { loadCachedPolicy, saveCachedPolicy } from './device-state-files.js';
import { bundleFromQuota, quotaBundleContentHash } from './quota-bundle.js';

export interface QuotaPolicySyncOptions {
  /** The Bifrost gateway, e.g. https://bifrost.example.com */
  gatewayUrl: string;
  /** The employee's `sk-bf-…` key; the quota route authenticates with it (no admin rights needed). */
  virtualKey: string;
  /** Where to cache the last good bundle (owner-only); no cache when absent. */
  stateDir?: string;
  /** Default 60, minimum `minPollSeconds`. */
  pollIntervalSeconds?: number;
  /** Local Edge settings to merge into the synthesized bundle. */
  template?: PolicyTemplateInput;
  log?: Logger;
  timing?: { minPollSeconds?: number; requestTimeoutMs?: number };
}

/**
 * Policy sync against stock Bifrost (no Edge Control server): polls the key's quota and turns it into
 * a local bundle marked `source: 'bifrost-quota'`. A new version is made whenever the answer changes.
 */
export async function startQuotaPolicySync(options: QuotaPolicySyncOptions): Promise<PolicySync> {
  const sync = new QuotaPolicySync(options);
  await sync.start();
  return sync;
}

class QuotaPolicySync implements PolicySync {
  private readonly log: Logger;
  private readonly listeners: PolicyListeners;
  private readonly template: PolicyTemplate | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private policy: ActivePolicy | undefined;
  private contentHash: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<SyncOutcome> | undefined;
  private closed = false;
  private lastError: string | undefined;

  constructor(private readonly options: QuotaPolicySyncOptions) {
    this.log = options.log ?? silentLogger;
    this.listeners = new PolicyListeners(this.log);
    this.template = options.template ? PolicyTemplateSchema.parse(options.template) : undefined;
    const minPoll = options.timing?.minPollSeconds ?? 5;
    this.intervalMs = Math.max(minPoll, options.pollIntervalSeconds ?? 60) * 1000;
    this.timeoutMs = options.timing?.requestTimeoutMs ?? 15_000;
  }

  async start(): Promise<void> {
    await this.loadCache();
    void this.syncNow().finally(() => this.schedule());
  }

  current(): ActivePolicy | undefined {
    return this.policy;
  }

  onBundle(listener: (policy: ActivePolicy) => void): () => void {
    return this.listeners.add(listener);
  }

  syncNow(): Promise<SyncOutcome> {
    this.inFlight ??= this.pollOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.syncNow().finally(() => this.schedule());
    }, this.intervalMs);
  }

  private async pollOnce(): Promise<SyncOutcome> {
    let quota: VirtualKeyQuota;
    try {
      quota = await this.readQuota();
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.log.warn(`reading the virtual key's quota failed: ${message}; keeping ${this.policy ? `version ${this.policy.bundle.version}` : 'no policy'}`);
      this.lastError = message;
      return 'failed';
    }
    this.lastError = undefined;
    const now = new Date().toISOString();
    const candidate = bundleFromQuota({
      quota, virtualKey: this.options.virtualKey, gatewayUrl: this.options.gatewayUrl,
      version: (this.policy?.bundle.version ?? 0) + 1, issuedAt: now,
      ...(this.template ? { template: this.template } : {}),
    });
    const hash = quotaBundleContentHash(candidate);
    if (hash === this.contentHash) {
      if (this.policy?.origin === 'cache') this.policy = { ...this.policy, origin: 'network' };
      return 'unchanged';
    }
    this.apply(candidate, hash, 'network');
    if (this.options.stateDir) {
      await saveCachedPolicy(this.options.stateDir, { source: 'bifrost-quota', gateway_url: this.options.gatewayUrl, saved_at: now, bundle: candidate })
        .catch((err: Error) => this.log.warn(`could not cache the quota policy on disk (${err.message})`));
    }
    return 'updated';
  }

  private async readQuota(): Promise<VirtualKeyQuota> {
    const url = endpointUrl(this.options.gatewayUrl, '/api/governance/virtual-keys/quota');
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'x-bf-vk': this.options.virtualKey, accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new Error(`cannot reach the gateway at ${url.origin} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message})`);
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 404) throw new Error(`the gateway does not accept this virtual key (HTTP ${res.status}); check BIFROST_EDGE_VIRTUAL_KEY / gateway.virtualKey`);
    if (!res.ok) throw new Error(`the gateway answered HTTP ${res.status} to ${url.pathname}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`the gateway's ${url.pathname} answer is not JSON`);
    }
    const parsed = VirtualKeyQuotaSchema.safeParse(json);
    if (!parsed.success) throw new Error(`the gateway's ${url.pathname} answer is malformed (${parsed.error.issues[0]?.message ?? 'unexpected shape'})`);
    return parsed.data;
  }

  private apply(bundle: PolicyBundle, hash: string, origin: 'network' | 'cache'): void {
    this.policy = { source: 'bifrost-quota', bundle, etag: bundleEtag(bundle), origin, received_at: new Date().toISOString() };
    this.contentHash = hash;
    this.log.info('policy from the gateway quota applied', { version: bundle.version, origin });
    this.listeners.emit(this.policy);
  }

  private async loadCache(): Promise<void> {
    if (!this.options.stateDir) return;
    let cached;
    try {
      cached = await loadCachedPolicy(this.options.stateDir);
    } catch (err) {
      this.log.warn(`ignoring the cached policy: ${(err as Error).message}`);
      return;
    }
    if (!cached || cached.source !== 'bifrost-quota' || cached.gateway_url !== this.options.gatewayUrl) return;
    const parsed = PolicyBundleSchema.safeParse(cached.bundle);
    // A cache made with another key says nothing about this one.
    if (!parsed.success || parsed.data.virtual_keys[0]?.value !== this.options.virtualKey) return;
    this.apply(parsed.data, quotaBundleContentHash(parsed.data), 'cache');
  }
}
