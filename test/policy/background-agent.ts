import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { bundle, NOW } from './support.js';

/**
 * An agent's background charging over a real policy.db (counters and background work in the same file, as the agent
 * keeps them), started, crashed and started again over the same file, for the background-* tests that need restarts.
 */

export const PROMPT = 'y'.repeat(400);

/** A budget of $1,000 a day, priced by the bundle itself ($1 / $10 per Mtok for gpt-4.1-mini). */
export const POLICY = bundle({ version: 7, pricing: { 'gpt-4.1-mini': { input_per_mtok: 1, output_per_mtok: 10 } } }, {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
  rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
  budgets: [{ max_limit: 1000, reset_duration: '1d' }],
});

export interface AgentStart {
  /** The first bundle applied; null: none yet. */
  policy?: PolicyBundle | null;
  /** A policy source will bring a bundle (Edge Control): charges wait for the first one. */
  bundleExpected?: boolean;
  /** Errors are thrown by default; given this, they are told to it. */
  onError?: (err: unknown, context: string) => void;
}

export class BackgroundAgent {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-agent-'));
  readonly file = path.join(this.dir, 'policy.db');
  db!: PolicyDatabase;
  enforcer!: PolicyEnforcer;
  late: BackgroundCharge[] = [];
  clockMs = NOW.getTime();

  start({ policy = POLICY, bundleExpected = false, onError = (err) => { throw err; } }: AgentStart = {}): void {
    this.db = openPolicyDatabase(this.file);
    this.late = [];
    this.enforcer = new PolicyEnforcer({
      counters: new SqliteCounterStore(this.db), backgroundStore: new SqliteBackgroundStore(this.db),
      now: () => new Date(this.clockMs), onError, onBackgroundCharge: (charged) => this.late.push(charged),
    });
    this.enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
    if (policy) this.enforcer.setBundle(policy);
    this.enforcer.takeUpBackground({ bundleExpected });
  }

  /** Edge dies (nothing written on the way out) and starts again over the same file. */
  crashAndRestart(start?: AgentStart): void {
    this.db.close();
    this.start(start);
  }

  stop(): void {
    if (this.db?.open) {
      this.enforcer.releaseBackground();
      this.db.close();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async exchange(method: string, target: string, answer: string, body?: unknown): Promise<void> {
    if (await exchangeThroughPolicy(this.enforcer, { method, target, answer, body }) === 'refused') throw new Error(`${method} ${target} was refused`);
  }

  startBackground(id: string): Promise<void> {
    return this.exchange('POST', '/v1/responses', response(id, 'queued'), { model: 'gpt-4.1-mini', background: true, input: PROMPT, max_output_tokens: 700 });
  }

  fetchBack(id: string, usage?: { input_tokens: number; output_tokens: number }): Promise<void> {
    return this.exchange('GET', `/v1/responses/${id}`, response(id, usage ? 'completed' : 'in_progress', usage));
  }

  tokensUsed(): number | undefined {
    return this.enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used;
  }

  rows(): Array<{ kind: string; id: string }> {
    return this.db.prepare('SELECT kind, id FROM policy_background_work ORDER BY rowid').all() as Array<{ kind: string; id: string }>;
  }

  /** What each late charge charged: its id, its total tokens, and whether an estimate. */
  charged(): Array<[string, number, boolean]> {
    return this.late.map((c) => [c.id, c.charge.usage.totalTokens, c.charge.estimated ?? false]);
  }
}

export const response = (id: string, status: string, usage?: { input_tokens: number; output_tokens: number }) => JSON.stringify({
  id, object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status, output: [],
  usage: usage ? { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } : null,
});

/** Lets timers due now fire (work whose wait ran out is given up by a 0 ms timer). */
export const timersDueNow = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

/** Past the hour work is waited for. */
export const PAST_THE_WAIT_MS = 2 * 60 * 60_000;
