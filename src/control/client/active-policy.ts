import type { Logger } from '../../log.js';
import type { PolicyBundle, SignedPolicyBundle } from '../protocol/policy-bundle.js';

/** Where the enforced policy came from. */
export type PolicySourceKind =
  /** A signed bundle from an Edge Control server. */
  | 'edge-control'
  /** Synthesized on the device from stock Bifrost's `/api/governance/virtual-keys/quota` (unsigned; the gateway enforces the same rules). */
  | 'bifrost-quota';

/** The policy a device enforces, with its provenance. */
export interface ActivePolicy {
  source: PolicySourceKind;
  bundle: PolicyBundle;
  /** Quoted SHA-256 of the canonical bundle. */
  etag: string;
  /** The signed document as received (edge-control only). */
  signed?: SignedPolicyBundle;
  /** `cache` until the first successful sync after start. */
  origin: 'network' | 'cache';
  received_at: string;
}

export type SyncOutcome = 'updated' | 'unchanged' | 'rejected' | 'failed';

/**
 * What the agent holds on to: read the current policy at any time, hear about a new one the moment
 * it is accepted (apply it between requests; in-flight requests keep the policy they started with).
 */
export interface PolicySync {
  current(): ActivePolicy | undefined;
  /** Called with every newly accepted policy; returns an unsubscribe function. */
  onBundle(listener: (policy: ActivePolicy) => void): () => void;
  /** Fetches now instead of waiting for a push or the poll timer. */
  syncNow(): Promise<SyncOutcome>;
  close(): Promise<void>;
}

/** Listener set whose failures are logged, never thrown into the sync loop. */
export class PolicyListeners {
  private readonly listeners = new Set<(policy: ActivePolicy) => void>();

  constructor(private readonly log: Logger) {}

  add(listener: (policy: ActivePolicy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(policy: ActivePolicy): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(policy);
      } catch (err) {
        this.log.error(`a policy listener failed while applying version ${policy.bundle.version}: ${(err as Error).message}`);
      }
    }
  }
}
