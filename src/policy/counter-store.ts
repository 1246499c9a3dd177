import { reconcileReport, type ReportedUsage } from './gateway-report.js';
import type { PolicyDatabase } from './policy-database.js';
import type { FormerCounter } from './former-counter-keys.js';
import type { CounterReading, CounterSnapshot, LimitWindow } from './limits.js';
import { newWindowStartMs, windowEndMs, type WindowTiming } from './window-period.js';
import { windowIdentity, windowSuccessions, type WindowIdentity } from './window-succession.js';

/**
 * Usage counters persisted in SQLite, so a restart of the agent does not hand out a fresh rate limit or
 * budget. One row per window (counter key = key id + provider config + metric + reset duration, and the
 * budget's id or place for a budget; limits.ts counterKey).
 *
 * Windows reset the way Bifrost resets them: lazily, at the first use after the window has run its course,
 * and the new window starts then, or at the start of the current calendar period for a calendar-aligned
 * window (window-period.ts; `timing` is the window, or a bare duration in ms for a rolling one).
 * Everything runs synchronously inside one transaction per call, so two requests in the same process
 * never lose an increment.
 *
 * Earlier versions counted several windows under one key (all budgets of one duration; all provider
 * configs of one provider), charging each use there once per window. A counter that has no row of its own
 * yet reads the rows of earlier versions the bundle in force names for it (useFormerCounters: newest first,
 * each divided by the number of windows that shared it), and their alerts; its first write copies that
 * share into its own row. The former rows are left for the other windows that read them, until pruned.
 *
 * A window's counter key can change with a policy sync (a config without an id counted by its place, and
 * a config before it removed): the windows of the bundle applied last are kept here, so the next bundle's
 * windows carry their counters over (followWindows, window-succession.ts), also across a restart.
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
  /** The rows of earlier versions each counter reads until it has its own (former-counter-keys.ts formerCounterReads), for the bundle in force. */
  useFormerCounters(reads: ReadonlyMap<string, readonly FormerCounter[]>): void;
  /**
   * A bundle is applied with these windows (all of its keys'): windows whose counter key changed since the
   * bundle applied before carry their counters and fired alerts over (window-succession.ts); one transaction.
   */
  followWindows(windows: readonly LimitWindow[], nowMs: number): void;
}

type CounterRow = { window_start_ms: number; value: number };

export class SqliteCounterStore implements CounterStore {
  private readonly selectOne;
  private readonly upsert;
  private readonly insertAlert;
  private readonly selectAlert;
  private readonly deleteOld;
  private readonly deleteOldAlerts;
  private readonly addTx;
  private readonly rebaseTx;
  private readonly followTx;
  /** The rows of earlier versions read in a counter's stead; only these. */
  private formerReads: ReadonlyMap<string, readonly FormerCounter[]> = new Map();

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
      CREATE TABLE IF NOT EXISTS policy_windows (
        counter_key TEXT PRIMARY KEY,
        identity TEXT NOT NULL
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
    const selectWindows = db.prepare<[], { identity: string }>('SELECT identity FROM policy_windows');
    const deleteWindows = db.prepare('DELETE FROM policy_windows');
    const insertWindow = db.prepare<[string, string]>('INSERT OR REPLACE INTO policy_windows (counter_key, identity) VALUES (?, ?)');
    const deleteCounter = db.prepare<[string]>('DELETE FROM policy_counters WHERE counter_key = ?');
    const deleteAlerts = db.prepare<[string]>('DELETE FROM policy_alerts WHERE counter_key = ?');
    const selectWindowAlerts = db.prepare<[string, number], { threshold: number; fired_ms: number }>(
      'SELECT threshold, fired_ms FROM policy_alerts WHERE counter_key = ? AND window_start_ms = ?');
    this.followTx = db.transaction((windows: readonly LimitWindow[], nowMs: number) => {
      const previous = selectWindows.all().flatMap((row) => parseIdentity(row.identity));
      const next = windows.map(windowIdentity);
      const timingOf = new Map(windows.map((w) => [w.counterKey, w]));
      // Every source is read before anything is written: two windows may trade keys.
      const carried = windowSuccessions(previous, next).map(({ counterKey, from }) => {
        const timing = timingOf.get(counterKey)!;
        const rows = from.flatMap((key) => {
          const row = this.selectOne.get(key);
          return row ? [{ key, row }] : [];
        });
        // One source: the same window, as it stands. Several: the largest still running (none is lost).
        const source = rows.length === 1 ? rows[0]
          : rows.filter(({ row }) => nowMs < windowEndMs(timing, row.window_start_ms)).sort((a, b) => b.row.value - a.row.value)[0];
        const alerts = source ? selectWindowAlerts.all(source.key, source.row.window_start_ms) : [];
        return { counterKey, row: source?.row, alerts };
      });
      for (const { counterKey, row, alerts } of carried) {
        deleteCounter.run(counterKey);
        deleteAlerts.run(counterKey);
        if (!row) continue;
        this.upsert.run(counterKey, row.window_start_ms, row.value, nowMs);
        for (const alert of alerts) this.insertAlert.run(counterKey, row.window_start_ms, alert.threshold, alert.fired_ms);
      }
      deleteWindows.run();
      for (const identity of next) insertWindow.run(identity.counterKey, JSON.stringify(identity));
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
    return !(this.formerReads.get(key) ?? []).some((former) => this.selectAlert.get(former.key, windowStartMs, threshold) !== undefined);
  }

  followWindows(windows: readonly LimitWindow[], nowMs: number): void {
    this.followTx(windows, nowMs);
  }

  useFormerCounters(reads: ReadonlyMap<string, readonly FormerCounter[]>): void {
    this.formerReads = new Map(reads);
  }

  /** A counter's own row, else its share of the newest row of earlier versions it reads (see above). */
  private readRow(key: string): CounterRow | undefined {
    const own = this.selectOne.get(key);
    if (own) return own;
    for (const former of this.formerReads.get(key) ?? []) {
      const row = this.selectOne.get(former.key);
      if (row) return { window_start_ms: row.window_start_ms, value: row.value / former.shares };
    }
    return undefined;
  }

  prune(olderThanMs: number, nowMs: number): number {
    const cutoff = nowMs - olderThanMs;
    return this.deleteOld.run(cutoff).changes + this.deleteOldAlerts.run(cutoff).changes;
  }
}

/** A window kept by this or a later version; one it cannot read is left out (its counter is then not carried over). */
function parseIdentity(text: string): WindowIdentity[] {
  try {
    const identity = JSON.parse(text) as Partial<WindowIdentity> | null;
    return typeof identity?.counterKey === 'string' && typeof identity.keyId === 'string' ? [identity as WindowIdentity] : [];
  } catch {
    return [];
  }
}
