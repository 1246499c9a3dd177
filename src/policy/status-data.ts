import type { PolicyBundle, RoutingMode } from '../control/protocol/policy-bundle.js';
import { keyLabel, selectActiveKey } from './active-key.js';
import type { Connectivity } from './fail-mode.js';
import { limitWindows, windowUsage, type CounterSnapshot, type LimitWindow } from './limits.js';
import type { Notice } from './notices.js';
import type { ShadowEntry } from './shadow-ai.js';

/** What `bifrost-edge status` shows: plain data, JSON-ready, built by a pure function. */
export interface PolicyStatus {
  generatedAt: string;
  user: { signedIn: boolean; name?: string; email?: string; sub?: string };
  activeKey: {
    id: string;
    name: string;
    state: 'usable' | 'inactive' | 'expired';
    expiresAt?: string;
  } | null;
  /** Why there is no usable key, when there is none. */
  keyProblem?: string;
  policy: {
    version: number;
    issuedAt: string;
    ageSeconds: number;
    appliedAt: string;
    failMode: 'open' | 'closed';
    routing: RoutingMode;
  } | null;
  connectivity: Connectivity;
  budgets: BudgetStatus[];
  rateLimits: RateLimitStatus[];
  lastBlocks: BlockStatus[];
  shadowAi: ShadowEntry[];
  /** Policy parts the device cannot apply (bad patterns, unreadable durations). */
  problems: string[];
}

export interface BudgetStatus {
  /** undefined: the key's own budget; else the provider config's. */
  provider?: string;
  maxUsd: number;
  usedUsd: number;
  fraction: number;
  resetDuration: string;
  resetsAt?: string;
}

export interface RateLimitStatus {
  provider?: string;
  metric: 'requests' | 'tokens';
  max: number;
  used: number;
  resetDuration: string;
  resetsAt?: string;
}

export interface BlockStatus {
  when: string;
  app?: string;
  provider?: string;
  model?: string;
  errorType?: string;
  message: string;
  count: number;
}

export interface StatusInput {
  bundle: PolicyBundle | undefined;
  appliedAt: Date | undefined;
  signedIn: boolean;
  user?: string;
  connectivity: Connectivity;
  counters: CounterSnapshot;
  blocks: readonly Notice[];
  shadowAi: readonly ShadowEntry[];
  problems: readonly string[];
  /** Routing when the bundle does not say. */
  defaultMode: RoutingMode;
  now: Date;
}

/** Every window of the key, each once: the key's own and each provider config's. */
export function allKeyWindows(bundle: PolicyBundle, keyId: string): LimitWindow[] {
  const key = bundle.virtual_keys.find((k) => k.id === keyId);
  if (!key) return [];
  const issuedAtMs = Date.parse(bundle.issued_at);
  const byKey = new Map<string, LimitWindow>();
  for (const provider of [undefined, ...new Set(key.provider_configs.map((pc) => pc.provider))]) {
    for (const w of limitWindows(key, provider, issuedAtMs).windows) byKey.set(w.counterKey, w);
  }
  return [...byKey.values()];
}

export function buildPolicyStatus(input: StatusInput): PolicyStatus {
  const { bundle, now } = input;
  const nowMs = now.getTime();
  const subject = bundle?.subject;
  const user: PolicyStatus['user'] = { signedIn: input.signedIn };
  const name = subject?.name ?? input.user;
  if (name !== undefined) user.name = name;
  if (subject?.email !== undefined) user.email = subject.email;
  if (subject?.sub !== undefined) user.sub = subject.sub;

  const status: PolicyStatus = {
    generatedAt: now.toISOString(),
    user,
    activeKey: null,
    policy: null,
    connectivity: { ...input.connectivity },
    budgets: [],
    rateLimits: [],
    lastBlocks: input.blocks.map((n) => ({
      when: n.when,
      message: n.why.message,
      count: n.count,
      ...(n.who.app !== undefined ? { app: n.who.app } : {}),
      ...(n.what.provider !== undefined ? { provider: n.what.provider } : {}),
      ...(n.what.model !== undefined ? { model: n.what.model } : {}),
      ...(n.why.errorType !== undefined ? { errorType: n.why.errorType } : {}),
    })),
    shadowAi: [...input.shadowAi],
    problems: [...input.problems],
  };
  if (!bundle) return status;

  status.policy = {
    version: bundle.version,
    issuedAt: bundle.issued_at,
    ageSeconds: Math.max(0, Math.round((nowMs - Date.parse(bundle.issued_at)) / 1000)),
    appliedAt: (input.appliedAt ?? now).toISOString(),
    failMode: bundle.fail_mode,
    routing: bundle.routing.default_mode ?? input.defaultMode,
  };
  const selection = selectActiveKey(bundle, now);
  if (selection.kind === 'none') status.keyProblem = 'The policy gives you no virtual key.';
  else if (selection.kind === 'named-missing') status.keyProblem = `The policy selects key ${selection.id}, which it does not contain.`;
  else {
    const key = selection.key;
    status.activeKey = {
      id: key.id,
      name: keyLabel(key),
      state: selection.kind === 'usable' ? 'usable' : selection.kind,
      ...(key.expires_at ? { expiresAt: key.expires_at } : {}),
    };
    for (const window of allKeyWindows(bundle, key.id)) {
      const usage = windowUsage(window, input.counters, nowMs);
      const resetsAt = usage.resetsAtMs !== undefined ? { resetsAt: new Date(usage.resetsAtMs).toISOString() } : {};
      const provider = window.provider !== undefined ? { provider: window.provider } : {};
      if (window.metric === 'spend') {
        status.budgets.push({ ...provider, maxUsd: window.max, usedUsd: round(usage.used, 6), fraction: window.max > 0 ? round(usage.used / window.max, 4) : 1, resetDuration: window.resetDuration, ...resetsAt });
      } else {
        status.rateLimits.push({ ...provider, metric: window.metric, max: window.max, used: usage.used, resetDuration: window.resetDuration, ...resetsAt });
      }
    }
  }
  return status;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
