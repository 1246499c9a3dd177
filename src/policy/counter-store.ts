import { reconcileReport, type ReportedUsage } from './gateway-report.js';
import type { PolicyDatabase } from './policy-database.js';
import { sharedCounterKeyOf, type CounterReading, type CounterSnapshot } from './limits.js';
import { newWindowStartMs, windowEndMs, type WindowTiming } from './window-period.js';

/**
 * Usage counters persisted in SQLite, so a restart of the agent does not hand out a fresh rate limit or
 * budget. One row per window (counter key = key id + provider config + metric + reset duration, and the
 * budget's id for a budget).
 *
 * Windows reset the way Bifrost resets them: lazily, at the first use after the window has run its course,
 * and the new window starts then, or at the start of the current calendar period for a calendar-aligned
 * window (window-period.ts; `timing` is the window, or a bare duration in ms for a rolling one).
 * Everything runs synchronously inside one transaction per call, so two requests in the same process
 * never lose an increment.
 *
 * Earlier versions counted all budgets of one duration under one key without the budget's id, charging
 * each spend there once per budget. A budget counted by its id or place that has no row of its own yet
 * reads that shared row divided by the number of budgets that shared it, when the bundle in force lists it
 * (useLegacyShares), and the shared row's alerts; its first write copies that share into its own row. The
 * shared row is left for the other budgets of that duration.
 */

export interface CounterAddition {
  before: number;
  after: number;
  windowStartMs: number;
  /** True when this addition opened a new window (the previous one had expired, or none existed). */
  newWindow: boolean;
}

export interface CounterStore {
  snapshot(keys: Iterable<string>): CounterSnapshot;
  add(key: string, amount: number, timing: WindowTiming, nowMs: number): CounterAddition;
  /** Folds in what the gateway reports of a window, adopting its window (gateway-report.ts says how). */
  rebase(key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number): void;
  /** Records that an alert fired for a window; false when it had already fired there. */
  markAlert(key: string, windowStartMs: number, threshold: number, nowMs: number): boolean;
  /** Drops windows untouched for longer than `olderThanMs` (keys that no longer exist). */
  prune(olderThanMs: number, nowMs: number): number;
  /** How many budgets shared each counter key of earlier versions (limits.ts legacyBudgetShares), for the bundle in force. */
  useLegacyShares(shares: ReadonlyMap<string, number>): void;
}

export class SqliteCounterStore implements CounterStore {
  private readonly selectOne;
  private readonly upsert;
  private readonly insertAlert;
  private readonly selectAlert;
  private readonly deleteOld;
  private readonly deleteOldAlerts;
  private readonly addTx;
  private readonly rebaseTx;
  /** How many budgets shared each counter key of earlier versions; only these are read in a budget's stead. */
  private legacyShares: ReadonlyMap<string, number> = new Map();

  constructor(private readonly db: PolicyDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS policy_counters (
        counter_key TEXT PRIMARY KEY,
        window_start_ms INTEGER NOT NULL,
        value REAL NOT NULL,
        updated_ms INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS policy_alerts (
        counter_key TEXT NOT NULL,
        window_start_ms INTEGER NOT NULL,
        threshold REAL NOT NULL,
        fired_ms INTEGER NOT NULL,
        PRIMARY KEY (counter_key, window_start_ms, threshold)
      );
    `);
    this.selectOne = db.prepare<[string], { window_start_ms: number; value: number }>(
      'SELECT window_start_ms, value FROM policy_counters WHERE counter_key = ?');
    this.upsert = db.prepare<[string, number, number, number]>(
      `INSERT INTO policy_counters (counter_key, window_start_ms, value, updated_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT(counter_key) DO UPDATE SET window_start_ms = excluded.window_start_ms, value = excluded.value, updated_ms = excluded.updated_ms`);
    this.insertAlert = db.prepare<[string, number, number, number]>(
      'INSERT OR IGNORE INTO policy_alerts (counter_key, window_start_ms, threshold, fired_ms) VALUES (?, ?, ?, ?)');
    this.selectAlert = db.prepare<[string, number, number], { found: number }>(
      'SELECT 1 AS found FROM policy_alerts WHERE counter_key = ? AND window_start_ms = ? AND threshold = ?');
    this.deleteOld = db.prepare<[number]>('DELETE FROM policy_counters WHERE updated_ms < ?');
    this.deleteOldAlerts = db.prepare<[number]>('DELETE FROM policy_alerts WHERE fired_ms < ?');

    this.addTx = db.transaction((key: string, amount: number, timing: WindowTiming, nowMs: number): CounterAddition => {
      const row = this.readRow(key);
      const current = row !== undefined && nowMs < windowEndMs(timing, row.window_start_ms);
      const windowStartMs = current ? row.window_start_ms : newWindowStartMs(timing, nowMs);
      const before = current ? row.value : 0;
      const after = before + amount;
      this.upsert.run(key, windowStartMs, after, nowMs);
      return { before, after, windowStartMs, newWindow: !current };
    });
    this.rebaseTx = db.transaction((key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number) => {
      const row = this.readRow(key);
      const local = row ? { value: row.value, windowStartMs: row.window_start_ms } : undefined;
      const next = reconcileReport(local, reported, timing, nowMs);
      if (next !== undefined && next !== local) this.upsert.run(key, next.windowStartMs, next.value, nowMs);
    });
  }

  snapshot(keys: Iterable<string>): CounterSnapshot {
    const out = new Map<string, CounterReading>();
    for (const key of keys) {
      const row = this.readRow(key);
      if (row) out.set(key, { value: row.value, windowStartMs: row.window_start_ms });
    }
    return out;
  }

  add(key: string, amount: number, timing: WindowTiming, nowMs: number): CounterAddition {
    return this.addTx(key, amount, timing, nowMs);
  }

  rebase(key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number): void {
    this.rebaseTx(key, reported, timing, nowMs);
  }

  markAlert(key: string, windowStartMs: number, threshold: number, nowMs: number): boolean {
    if (this.insertAlert.run(key, windowStartMs, threshold, nowMs).changes !== 1) return false;
    const shared = this.legacyKeyOf(key);
    return shared === undefined || this.selectAlert.get(shared, windowStartMs, threshold) === undefined;
  }

  useLegacyShares(shares: ReadonlyMap<string, number>): void {
    this.legacyShares = new Map(shares);
  }

  /** A counter's own row, else its share of the shared row of earlier versions (see above). */
  private readRow(key: string): { window_start_ms: number; value: number } | undefined {
    const own = this.selectOne.get(key);
    if (own) return own;
    const shared = this.legacyKeyOf(key);
    const row = shared === undefined ? undefined : this.selectOne.get(shared);
    if (shared === undefined || row === undefined) return undefined;
    return { window_start_ms: row.window_start_ms, value: row.value / (this.legacyShares.get(shared) ?? 1) };
  }

  /** The shared counter key of earlier versions a budget's counter reads in its stead, if the bundle lists it. */
  private legacyKeyOf(key: string): string | undefined {
    const shared = sharedCounterKeyOf(key);
    return shared !== undefined && this.legacyShares.has(shared) ? shared : undefined;
  }

  prune(olderThanMs: number, nowMs: number): number {
    const cutoff = nowMs - olderThanMs;
    return this.deleteOld.run(cutoff).changes + this.deleteOldAlerts.run(cutoff).changes;
  }
}
