import { reconcileReport, type ReportedUsage } from './gateway-report.js';
import type { PolicyDatabase } from './policy-database.js';
import { formerCounterReads } from './former-counter-keys.js';
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
 * When a bundle is applied (followWindows, one transaction):
 * - A window's counter key can change with a policy sync (a config without an id counted by its place, and
 *   a config before it removed): the windows of the bundle applied last are kept here, so the next
 *   bundle's windows carry their counters over (window-succession.ts), also across a restart.
 * - Earlier versions counted several windows under one key (all budgets of one duration; all provider
 *   configs of one provider), charging each use there once per window. Each window of the bundle that has
 *   no row of its own gets its share of the newest such row it reads (former-counter-keys.ts
 *   formerCounterReads: divided by the number of windows of this bundle that shared it), and every window
 *   that reads such a row its fired alerts; then those rows are deleted. So the division is decided once,
 *   by the first bundle applied after the upgrade, and a later sync that adds or removes a window does
 *   not divide again.
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
  /**
   * Gives back up to `amount` of what was added to the window that started at `windowStartMs` (a charge found too
   * high later: a background response's estimate, trued up to its usage), only while that window still runs, and
   * never below zero. Returns what was given back: 0 once the window has rolled over, since taking it from the new
   * window would hand out usage the old one counted.
   */
  refund(key: string, amount: number, windowStartMs: number, timing: WindowTiming, nowMs: number): number;
  /** Folds in what the gateway reports of a window, adopting its window (gateway-report.ts says how). */
  rebase(key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number): void;
  /** Records that an alert fired for a window; false when it had already fired there. */
  markAlert(key: string, windowStartMs: number, threshold: number, nowMs: number): boolean;
  /** Drops windows untouched for longer than `olderThanMs` (keys that no longer exist). */
  prune(olderThanMs: number, nowMs: number): number;
  /**
   * A bundle is applied with these windows (all of its keys'): windows whose counter key changed since the
   * bundle applied before carry their counters and fired alerts over (window-succession.ts), and rows of
   * earlier versions become the windows' own (see above); one transaction.
   */
  followWindows(windows: readonly LimitWindow[], nowMs: number): void;
}

export class SqliteCounterStore implements CounterStore {
  private readonly selectOne;
  private readonly upsert;
  private readonly insertAlert;
  private readonly deleteOld;
  private readonly deleteOldAlerts;
  private readonly addTx;
  private readonly refundTx;
  private readonly rebaseTx;
  private readonly followTx;

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
    this.deleteOld = db.prepare<[number]>('DELETE FROM policy_counters WHERE updated_ms < ?');
    this.deleteOldAlerts = db.prepare<[number]>('DELETE FROM policy_alerts WHERE fired_ms < ?');

    this.addTx = db.transaction((key: string, amount: number, timing: WindowTiming, nowMs: number): CounterAddition => {
      const row = this.selectOne.get(key);
      const current = row !== undefined && nowMs < windowEndMs(timing, row.window_start_ms);
      const windowStartMs = current ? row.window_start_ms : newWindowStartMs(timing, nowMs);
      const before = current ? row.value : 0;
      const after = before + amount;
      this.upsert.run(key, windowStartMs, after, nowMs);
      return { before, after, windowStartMs, newWindow: !current };
    });
    this.refundTx = db.transaction((key: string, amount: number, windowStartMs: number, timing: WindowTiming, nowMs: number): number => {
      const row = this.selectOne.get(key);
      if (!row || row.window_start_ms !== windowStartMs || nowMs >= windowEndMs(timing, row.window_start_ms)) return 0;
      const given = Math.min(Math.max(amount, 0), Math.max(row.value, 0));
      if (given > 0) this.upsert.run(key, row.window_start_ms, row.value - given, nowMs);
      return given;
    });
    const selectWindows = db.prepare<[], { identity: string }>('SELECT identity FROM policy_windows');
    const deleteWindows = db.prepare('DELETE FROM policy_windows');
    const insertWindow = db.prepare<[string, string]>('INSERT OR REPLACE INTO policy_windows (counter_key, identity) VALUES (?, ?)');
    const deleteCounter = db.prepare<[string]>('DELETE FROM policy_counters WHERE counter_key = ?');
    const deleteAlerts = db.prepare<[string]>('DELETE FROM policy_alerts WHERE counter_key = ?');
    const selectWindowAlerts = db.prepare<[string, number], { threshold: number; fired_ms: number }>(
      'SELECT threshold, fired_ms FROM policy_alerts WHERE counter_key = ? AND window_start_ms = ?');
    const copyAlerts = db.prepare<[string, string]>(
      `INSERT OR IGNORE INTO policy_alerts (counter_key, window_start_ms, threshold, fired_ms)
       SELECT ?, window_start_ms, threshold, fired_ms FROM policy_alerts WHERE counter_key = ?`);

    /** Windows whose counter key changed since the bundle applied before continue their counters. */
    const carryOver = (windows: readonly LimitWindow[], nowMs: number) => {
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
    };
    /** Rows of earlier versions become the windows' own, divided once (see above), and are then deleted. */
    const adoptFormerCounters = (windows: readonly LimitWindow[], nowMs: number) => {
      const reads = formerCounterReads(windows);
      for (const [counterKey, formers] of reads) {
        for (const former of formers) copyAlerts.run(counterKey, former.key);
        if (this.selectOne.get(counterKey)) continue;
        for (const former of formers) {
          const row = this.selectOne.get(former.key);
          if (!row) continue;
          this.upsert.run(counterKey, row.window_start_ms, row.value / former.shares, nowMs);
          break;
        }
      }
      for (const formerKey of new Set([...reads.values()].flatMap((formers) => formers.map((f) => f.key)))) {
        deleteCounter.run(formerKey);
        deleteAlerts.run(formerKey);
      }
    };
    // Carried over first: a window that moved and had no row of its own yet then gets its share under its new key.
    this.followTx = db.transaction((windows: readonly LimitWindow[], nowMs: number) => {
      carryOver(windows, nowMs);
      adoptFormerCounters(windows, nowMs);
    });
    this.rebaseTx = db.transaction((key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number) => {
      const row = this.selectOne.get(key);
      const local = row ? { value: row.value, windowStartMs: row.window_start_ms } : undefined;
      const next = reconcileReport(local, reported, timing, nowMs);
      if (next !== undefined && next !== local) this.upsert.run(key, next.windowStartMs, next.value, nowMs);
    });
  }

  snapshot(keys: Iterable<string>): CounterSnapshot {
    const out = new Map<string, CounterReading>();
    for (const key of keys) {
      const row = this.selectOne.get(key);
      if (row) out.set(key, { value: row.value, windowStartMs: row.window_start_ms });
    }
    return out;
  }

  add(key: string, amount: number, timing: WindowTiming, nowMs: number): CounterAddition {
    return this.addTx(key, amount, timing, nowMs);
  }

  refund(key: string, amount: number, windowStartMs: number, timing: WindowTiming, nowMs: number): number {
    return this.refundTx(key, amount, windowStartMs, timing, nowMs);
  }

  rebase(key: string, reported: ReportedUsage, timing: WindowTiming, nowMs: number): void {
    this.rebaseTx(key, reported, timing, nowMs);
  }

  markAlert(key: string, windowStartMs: number, threshold: number, nowMs: number): boolean {
    return this.insertAlert.run(key, windowStartMs, threshold, nowMs).changes === 1;
  }

  followWindows(windows: readonly LimitWindow[], nowMs: number): void {
    this.followTx(windows, nowMs);
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
