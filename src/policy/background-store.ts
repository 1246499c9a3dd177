import { createHash } from 'node:crypto';
import type { ModelPrice } from '../control/protocol/policy-bundle.js';
import type { BackgroundJob } from './background-responses.js';
import type { TrueUp } from './background-true-ups.js';
import type { PolicyDatabase } from './policy-database.js';

/**
 * Background work Edge is still charging (background-charging.ts), kept in the policy database so a restart of the
 * agent takes it up where it was: requests whose usage is waited for, estimates open for a true-up, and estimates a
 * key keeps of work continued under another key. Without it, a crash forgot the work waited for (its usage never
 * charged), and a stop closed every estimate as charged (a worst case kept for good, a continuation charged the
 * whole run on top).
 *
 * The in-memory collections stay the truth while Edge runs (background-responses.ts, background-true-ups.ts); each
 * tells its journal what changed, and this writes it through, so the table holds what they hold and is bounded as
 * they are. One change is told only now and then: a poll's growing answer (background-responses.ts noteAnswer, which
 * says why a crash in between loses no charge that matters). An entry is one row: its record as JSON, without its hold (in-flight.ts, placed anew by nobody after a
 * restart) and with the bundle's prices by reference (a bundle's price list, shared by thousands of entries, is
 * kept once in its own table).
 */

export type BackgroundKind = 'waiting' | 'true_up' | 'handed_over';

/** What a collection tells of its entries, to keep them across a restart. */
export interface BackgroundJournal<T> {
  /** A new entry, made the newest (also one kept again under its id). */
  added(provider: string, id: string, keyId: string, value: T, sinceMs: number): void;
  /** An entry changed in place (more answer seen, an estimate raised): its place in the order stays. */
  changed(provider: string, id: string, value: T): void;
  removed(provider: string, id: string): void;
}

/** One entry as kept, oldest first. */
export interface StoredEntry<T> {
  provider: string;
  id: string;
  value: T;
  sinceMs: number;
}

type Pricing = Readonly<Record<string, ModelPrice>>;

export class SqliteBackgroundStore {
  private readonly insert;
  private readonly update;
  private readonly remove;
  private readonly selectKind;
  private readonly insertPrices;
  private readonly selectPrices;
  private readonly dropStale;
  private readonly pruneUnusedPrices;
  /** The hash of each bundle's price list seen (the bundle's own object), and the hashes stored already (committed). */
  private readonly hashOf = new WeakMap<object, string>();
  private readonly storedPrices = new Set<string>();
  /**
   * Price lists inserted by the transaction `atomically` runs: stored only once it commits. A rollback (a failed
   * write ends it) takes their rows away, and an entry written later must insert its list again.
   */
  private pendingPrices: Set<string> | undefined;
  private readonly loadedPrices = new Map<string, Pricing>();
  /** `atomically` is running its work: a journal write then belongs to its transaction, whole or not at all. */
  private working = false;

  constructor(private readonly db: PolicyDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS policy_background_work (
        kind TEXT NOT NULL,
        provider TEXT NOT NULL,
        id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        since_ms INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (kind, provider, id)
      );
      CREATE TABLE IF NOT EXISTS policy_background_prices (
        hash TEXT PRIMARY KEY,
        pricing TEXT NOT NULL
      );
    `);
    // Replaced, not updated: the row gets the newest rowid, which is the order entries are loaded in.
    this.insert = db.prepare<[string, string, string, string, number, string]>(
      'INSERT OR REPLACE INTO policy_background_work (kind, provider, id, key_id, since_ms, record) VALUES (?, ?, ?, ?, ?, ?)');
    this.update = db.prepare<[string, string, string, string]>('UPDATE policy_background_work SET record = ? WHERE kind = ? AND provider = ? AND id = ?');
    this.remove = db.prepare<[string, string, string]>('DELETE FROM policy_background_work WHERE kind = ? AND provider = ? AND id = ?');
    this.selectKind = db.prepare<[string], { provider: string; id: string; since_ms: number; record: string }>(
      'SELECT provider, id, since_ms, record FROM policy_background_work WHERE kind = ? ORDER BY rowid');
    this.insertPrices = db.prepare<[string, string]>('INSERT OR IGNORE INTO policy_background_prices (hash, pricing) VALUES (?, ?)');
    this.selectPrices = db.prepare<[string], { pricing: string }>('SELECT pricing FROM policy_background_prices WHERE hash = ?');
    this.dropStale = db.prepare<[number]>("DELETE FROM policy_background_work WHERE kind != 'waiting' AND since_ms < ?");
    this.pruneUnusedPrices = db.prepare<[string]>('DELETE FROM policy_background_prices WHERE hash NOT IN (SELECT value FROM json_each(?))');
  }

  /**
   * A write failing now fails a transaction whole (atomically's, or one around it), as a journal write does here: the
   * counters' writes of a change are told so too (background-charging.ts).
   */
  get failsWhole(): boolean {
    return this.working || this.db.inTransaction;
  }

  /**
   * Runs `work` (one change of the ledger: an entry taken and charged, an estimate kept) in one transaction, so a crash
   * keeps all of its writes or none. The counters' writes are in it too when the counter store works on the same
   * database handle, as the agent's does (a nested transaction is a savepoint). A write of the journal that fails in
   * it ends `work` there (BackgroundWriteFailed), and the whole change is rolled back: swallowed, as a write outside a
   * transaction is, it let the rest commit without it (a row left waiting whose charge went through: charged again
   * after a restart). The failure is told to `onError`, and `undefined` returned; what `work` did in memory is the
   * caller's to undo (background-change.ts). An error of another kind that `work` throws is its own.
   */
  atomically<T>(work: () => T, onError: (err: unknown, context: string) => void): T | undefined {
    // Inside one already, it is part of that; closed (a timer after a crash in tests), each write fails and is told.
    if (this.db.inTransaction || !this.db.open) return work();
    let done = false;
    let result: T | undefined;
    const pending = new Set<string>();
    this.pendingPrices = pending;
    try {
      this.db.transaction(() => {
        this.working = true;
        try {
          result = work();
        } finally {
          this.working = false;
        }
        // SQLite ended the transaction itself (a full disk, an I/O error) in a write whose error did not reach here (one
        // told and swallowed): what followed was written on its own. Rolled back as far as it still can be.
        if (!this.db.inTransaction) throw new BackgroundWriteFailed('writing a change of background work', new Error('SQLite rolled the transaction back'));
        done = true;
      })();
      for (const hash of pending) this.storedPrices.add(hash);
    } catch (err) {
      if (err instanceof BackgroundWriteFailed) {
        onError(err.cause, err.context);
        return undefined;
      }
      if (!done) throw err;
      onError(err, 'writing a change of background work');
    } finally {
      this.pendingPrices = undefined;
    }
    return result;
  }

  journal<T extends BackgroundJob | TrueUp>(kind: BackgroundKind, onError: (err: unknown, context: string) => void): BackgroundJournal<T> {
    // A write that fails (a full disk) on its own costs only what a restart would have cost before: the entry goes on
    // in memory. Inside a transaction (atomically) it fails the whole change instead, so nothing of it is kept half.
    const safely = (context: string, write: () => void) => {
      // The transaction atomically runs is gone (SQLite rolled it back): written now, this would commit on its own.
      if (this.working && !this.db.inTransaction) throw new BackgroundWriteFailed(`${context} background work ${kind}`, new Error('SQLite rolled the transaction back'));
      try {
        write();
      } catch (err) {
        if (this.db.inTransaction || this.working) throw new BackgroundWriteFailed(`${context} background work ${kind}`, err);
        onError(err, `${context} background work ${kind}`);
      }
    };
    return {
      added: (provider, id, keyId, value, sinceMs) => safely('keeping', () => this.insert.run(kind, provider, id, keyId, sinceMs, this.encode(value))),
      changed: (provider, id, value) => safely('updating', () => this.update.run(this.encode(value), kind, provider, id)),
      removed: (provider, id) => safely('forgetting', () => this.remove.run(kind, provider, id)),
    };
  }

  /**
   * The entries of `kind` kept by an earlier run, oldest first. Estimates kept longer than `maxAgeMs` are dropped (as
   * they would have been by now); work waited for is always returned, to be waited for on or given up. Prices no
   * entry refers to any more are dropped once all kinds are loaded (`pruneAfterLoad`).
   */
  load<T extends BackgroundJob | TrueUp>(kind: BackgroundKind, nowMs: number, maxAgeMs: number): StoredEntry<T>[] {
    if (kind !== 'waiting') this.dropStale.run(nowMs - maxAgeMs);
    const entries: StoredEntry<T>[] = [];
    for (const row of this.selectKind.all(kind)) {
      const value = this.decode<T>(row.record);
      if (value) entries.push({ provider: row.provider, id: row.id, value, sinceMs: row.since_ms });
      else this.remove.run(kind, row.provider, row.id);
    }
    return entries;
  }

  /** Drops the price lists no entry refers to (after loading, when every list in use has been read). */
  pruneAfterLoad(): void {
    this.pruneUnusedPrices.run(JSON.stringify([...this.storedPrices]));
  }

  private encode(value: BackgroundJob | TrueUp): string {
    return JSON.stringify(value, (key, field: unknown) => {
      if (key === 'hold') return undefined;
      if (key === 'pricing' && typeof field === 'object' && field !== null) return this.pricesRef(field as Pricing);
      return field;
    });
  }

  /** A record read back, its prices shared with every other entry of the same bundle; undefined when unreadable. */
  private decode<T>(record: string): T | undefined {
    try {
      return JSON.parse(record, (key, field: unknown) => (key === 'pricing' && typeof field === 'string' ? this.pricesFor(field) : field)) as T;
    } catch {
      return undefined;
    }
  }

  private pricesRef(pricing: Pricing): string {
    let hash = this.hashOf.get(pricing);
    if (hash === undefined) {
      hash = createHash('sha256').update(JSON.stringify(pricing)).digest('hex');
      this.hashOf.set(pricing, hash);
    }
    // Inserted until it is known to be stored: an insert that failed (a full disk), or was rolled back with its
    // transaction, is tried again by the next entry.
    if (!this.storedPrices.has(hash) && !(this.db.inTransaction && this.pendingPrices?.has(hash))) {
      this.insertPrices.run(hash, JSON.stringify(pricing));
      this.noteStored(hash);
    }
    return hash;
  }

  /**
   * `hash`'s price list is in the table as this connection sees it: stored for good outside a transaction; inside the
   * one `atomically` runs, once it commits; inside another's, not remembered (its fate is unknown here).
   */
  private noteStored(hash: string): void {
    if (!this.db.inTransaction) this.storedPrices.add(hash);
    else this.pendingPrices?.add(hash);
  }

  /**
   * The price list stored under `hash` (read once, then shared); none, if it is missing: the built-in prices apply.
   * A missing list reads as an empty one of its own, never recorded under `hash`: written again (its entry changed), it
   * is stored as what it is, `{}` under `{}`'s hash. Recorded under `hash`, it wrote '{}' there and marked the list
   * stored, and every later entry of that bundle's prices pointed at nothing.
   */
  private pricesFor(hash: string): Pricing {
    const loaded = this.loadedPrices.get(hash);
    if (loaded) return loaded;
    const row = this.selectPrices.get(hash);
    if (!row) return {};
    const pricing = JSON.parse(row.pricing) as Pricing;
    this.loadedPrices.set(hash, pricing);
    this.hashOf.set(pricing, hash);
    this.noteStored(hash);
    return pricing;
  }
}

/** A journal write failed inside a transaction: the change it belongs to is rolled back whole (atomically). */
export class BackgroundWriteFailed extends Error {
  constructor(readonly context: string, override readonly cause: unknown) {
    super(`${context}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
