import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { BackgroundCharging } from '../../src/policy/background-charging.js';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import type { Notice, NoticeDraft } from '../../src/policy/notices.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { allKeyWindows } from '../../src/policy/status-data.js';
import { WindowCharges } from '../../src/policy/window-charges.js';
import { exchangeThroughPolicy } from '../support/policy-exchange.js';
import { until } from '../support/until.js';
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

  /** Crashes and starts again, waits for the first late charge (a give-up due now), and tells what the run left. */
  async chargedAfterRestart(): Promise<{ charged: Array<[string, number, boolean]>; tokensUsed: number | undefined; rows: Array<{ kind: string; id: string }> }> {
    this.crashAndRestart();
    await until(() => this.late.length > 0);
    return { charged: this.charged(), tokensUsed: this.tokensUsed(), rows: this.rows() };
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

/*
 * BackgroundCharging alone over a real policy.db, for the background-* tests that drive it directly (entries on a
 * thread's runs, one key holding at most one of them).
 */

/** One key, vk-a, allowed every OpenAI model under a token limit (and, given, a budget). */
export function oneKeyPolicy(budgets?: Array<{ max_limit: number; reset_duration: string }>): PolicyBundle {
  return bundle({
    virtual_keys: [{
      id: 'vk-a', name: 'vk-a', value: 'sk-bf-vk-a', provider_configs: [{ provider: 'openai' as const, weight: 1, allowed_models: ['*'] }],
      rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
      ...(budgets ? { budgets } : {}),
    }],
  });
}

/** A run on a thread waited for on vk-a: a prompt of 100 tokens, an answer of 2,000 at worst. */
export function threadRunJob(policy: PolicyBundle, thresholds: number[] = []): BackgroundJob {
  return {
    target: {
      keyId: 'vk-a', keyLabel: 'vk-a', pricing: {}, thresholds, provider: 'openai', model: 'gpt-4.1',
      request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
      target: { method: 'POST', host: 'api.openai.com', path: '/v1/threads/thread_1/runs' }, app: 'probe',
    },
    windows: allKeyWindows(policy, 'vk-a').filter((w) => w.metric !== 'requests'), promptTokens: 100, outputTokens: 0, outputCap: 2000,
  };
}

export interface ChargingOptions {
  /** The bundle it charges by; undefined while none has come. */
  bundle: () => PolicyBundle | undefined;
  /** Errors are thrown by default. */
  onError?: (err: unknown, context: string) => void;
  /** Budget alerts; by default none is expected, and one fails the test. */
  publish?: (draft: NoticeDraft) => Notice;
  /** Where its late charges go. */
  late: BackgroundCharge[];
  /** Work waited for, and estimates open, in all (a tenth each for one key); 10 each by default. */
  maxPending?: number;
  maxTrueUps?: number;
  /** Its clock; NOW by default. */
  now?: () => Date;
}

/** BackgroundCharging over `db`, a key holding one entry unless told otherwise (maxPending 10: a tenth each). */
export function chargingOver(db: PolicyDatabase, options: ChargingOptions): { charging: BackgroundCharging; counters: SqliteCounterStore } {
  const counters = new SqliteCounterStore(db);
  const now = options.now ?? (() => NOW);
  const onError = options.onError ?? ((err: unknown) => { throw err; });
  const publish = options.publish ?? (() => { throw new Error('no alerts expected'); });
  const charging = new BackgroundCharging({
    counters, charges: new WindowCharges({ counters, now, onError, publish }), store: new SqliteBackgroundStore(db),
    bundle: options.bundle, now, onError, onBackgroundCharge: (c) => options.late.push(c),
    maxPending: options.maxPending ?? 10, maxTrueUps: options.maxTrueUps ?? 10,
  });
  return { charging, counters };
}

/** Entries a previous run left waiting on vk-a, in this order (the last ones crowd the first out at a take-up). */
export function leftWaiting(db: PolicyDatabase, ids: string[], job: () => BackgroundJob): void {
  const journal = new SqliteBackgroundStore(db).journal<BackgroundJob>('waiting', (err) => { throw err; });
  for (const id of ids) journal.added('openai', id, 'vk-a', job(), NOW.getTime());
}

/** A thread run's final (or `status`) state fetched back through `charging`, with the usage given (none: null). */
export async function fetchBackRun(charging: BackgroundCharging, id: string, status = 'completed', usage: Record<string, number> | null = null): Promise<void> {
  const meter = charging.meterFetchedBack({ provider: 'openai', operation: 'threads' }, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({ id, object: 'thread.run', model: 'gpt-4.1', status, usage })));
  meter?.end();
  await meter?.finished;
}

/** The kind and id of each background row, in the order written. */
export const backgroundRows = (db: PolicyDatabase) => db.prepare('SELECT kind, id FROM policy_background_work ORDER BY rowid').all();

/** After a test on `dir`: its charging released (a clean stop), its database closed, the folder removed. */
export function cleanUp(dir: string, db: PolicyDatabase | undefined, charging: BackgroundCharging | undefined): void {
  charging?.releaseAll();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
