import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { AuditDatabase } from './database.js';

/**
 * The worker: its own connection to the outbox file, running PASSIVE checkpoints when asked. PASSIVE
 * never takes the writer's lock, so the agent keeps committing while pages are copied and the disk is
 * flushed. The writer reuses the WAL from its start only once every frame is in the database file; one
 * pass loses that race to the commits made meanwhile, so it makes a few short passes (each copies only
 * what arrived during the one before). Inline (eval) so it runs the same from src under the tests, from
 * dist, and from a packaged app, with better-sqlite3 resolved by the main thread.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqliteModule);
const db = new Database(workerData.dbPath, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
parentPort.on('message', () => {
  const started = performance.now();
  try {
    let row;
    for (let pass = 0; pass < 8; pass++) {
      [row] = db.pragma('wal_checkpoint(PASSIVE)');
      if (!row || row.checkpointed >= row.log) break;
    }
    parentPort.postMessage({ ok: true, ...row, ms: performance.now() - started });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: error.message });
  }
});
`;

/** SQLite's own default: checkpoint once the WAL holds about 1,000 pages. */
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

export interface WalCheckpointerOptions {
  dbPath: string;
  /** The writer's connection: its automatic checkpoints are turned off while the worker runs. */
  db: AuditDatabase;
  /** Commits between checkpoints (default 256; a commit of one record writes about 3 to 4 WAL pages). */
  commitsPerCheckpoint?: number;
  /**
   * WAL size (pages) at which the writer restarts the WAL itself. Under unbroken back-to-back commits
   * the worker never catches up completely, and SQLite reuses the WAL only once it has. Default 8,192
   * (32 MiB at 4 KiB pages).
   */
  maxWalPages?: number;
  log?: Logger;
  /** For tests: replaces the worker's code. */
  workerSource?: string;
}

export interface CheckpointResult {
  /** WAL frames when the checkpoint ran, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
  ms: number;
}

/**
 * Moves WAL checkpoints off the agent's event loop. With SQLite's automatic checkpoint, every ~300th
 * audit commit copied the WAL into the database and flushed the disk inside the request path: a
 * 2–7 ms stall here, far longer on an encrypted or busy laptop disk, felt by every AI request in
 * flight. A worker thread now checkpoints every `commitsPerCheckpoint` commits. If the worker cannot
 * start or dies, the writer's automatic checkpoints come back, so the WAL never grows without bound.
 */
type Waiter = { resolve: (result: CheckpointResult) => void; reject: (error: Error) => void };

export class WalCheckpointer {
  private readonly worker: Worker | undefined;
  private readonly commitsPerCheckpoint: number;
  private commitsSince = 0;
  private inFlight = false;
  private stopped = false;
  private fellBack = false;
  /** Callers waiting for the checkpoint in flight. */
  private readonly waiters: Waiter[] = [];
  /**
   * Callers who asked while a checkpoint was already running: it may have started before their last
   * commits, so they wait for the next one, requested as soon as this one ends.
   */
  private readonly waitingForNext: Waiter[] = [];
  /** Completed off-thread checkpoints (tests and diagnostics). */
  checkpoints = 0;

  constructor(private readonly options: WalCheckpointerOptions) {
    this.commitsPerCheckpoint = options.commitsPerCheckpoint ?? 256;
    try {
      const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');
      this.worker = new Worker(options.workerSource ?? WORKER_SOURCE, { eval: true, workerData: { dbPath: options.dbPath, sqliteModule } });
    } catch (error) {
      this.fallBack(`could not start the checkpoint worker (${(error as Error).message})`);
      return;
    }
    options.db.pragma('wal_autocheckpoint = 0');
    this.worker.on('message', (message: { ok: boolean; error?: string } & Partial<CheckpointResult>) => {
      this.inFlight = false;
      if (!message.ok) {
        options.log?.warn('audit WAL checkpoint failed; retrying at the next interval', { error: message.error });
        this.settle(new Error(`audit WAL checkpoint failed: ${message.error}`));
      } else {
        this.checkpoints++;
        const result = { log: message.log ?? 0, checkpointed: message.checkpointed ?? 0, ms: message.ms ?? 0 };
        if (result.log > (options.maxWalPages ?? 8192)) this.restartOnWriter(result.log);
        this.settle(result);
      }
      if (this.waitingForNext.length > 0 && this.offThread) {
        this.waiters.push(...this.waitingForNext.splice(0));
        this.request();
      }
    });
    this.worker.on('error', (error) => this.fallBack(`the checkpoint worker failed (${error.message})`));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.fallBack(`the checkpoint worker exited (code ${code})`);
    });
    // A background helper must never keep the process alive (after the listeners: they ref it again).
    this.worker.unref();
  }

  /** True while checkpoints run off-thread; false once the writer checkpoints for itself again. */
  get offThread(): boolean {
    return this.worker !== undefined && !this.fellBack && !this.stopped;
  }

  /** Called after every commit; asks the worker for a checkpoint every `commitsPerCheckpoint`. */
  noteCommit(): void {
    if (!this.offThread) return;
    this.commitsSince++;
    if (this.commitsSince >= this.commitsPerCheckpoint && !this.inFlight) this.request();
  }

  /** Runs a checkpoint now, off-thread, and resolves with its result (tests, `audit` tools). */
  checkpointNow(): Promise<CheckpointResult> {
    if (!this.offThread) return Promise.reject(new Error('the audit WAL is not checkpointed off-thread'));
    return new Promise((resolve, reject) => {
      if (this.inFlight) {
        this.waitingForNext.push({ resolve, reject });
        return;
      }
      this.waiters.push({ resolve, reject });
      this.request();
    });
  }

  /** Stops the worker; the writer's connection checkpoints on close as SQLite always does. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.settle(new Error('the audit WAL checkpointer stopped'), true);
    void this.worker?.terminate();
  }

  /** Answers the callers of the checkpoint that ended (`everyone`: also those waiting for the next one). */
  private settle(outcome: CheckpointResult | Error, everyone = false): void {
    const answered = everyone ? [...this.waiters.splice(0), ...this.waitingForNext.splice(0)] : this.waiters.splice(0);
    for (const waiter of answered) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  /**
   * The rare catch-up: the worker already copied nearly everything, so this pass is short. It must
   * never wait, since it runs on the agent's event loop: RESTART waits for readers on an older snapshot
   * (a long `audit verify` in another process), and with the connection's busy timeout that meant up
   * to 5 s with every AI request in flight stalled. With none, a busy WAL is left for the next time.
   */
  private restartOnWriter(pages: number): void {
    const db = this.options.db;
    let busyTimeout: unknown;
    try {
      busyTimeout = db.pragma('busy_timeout', { simple: true });
      db.pragma('busy_timeout = 0');
      const [row] = db.pragma('wal_checkpoint(RESTART)') as Array<{ busy: number }>;
      if (row?.busy) this.options.log?.debug('audit WAL restart deferred: a reader holds an older snapshot', { pages });
      else this.options.log?.debug('audit WAL restarted by the writer after the worker fell behind', { pages });
    } catch (error) {
      this.options.log?.warn('could not restart the audit WAL', { error: (error as Error).message });
    } finally {
      if (typeof busyTimeout === 'number') db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  }

  private request(): void {
    this.inFlight = true;
    this.commitsSince = 0;
    this.worker!.postMessage('checkpoint');
  }

  private fallBack(reason: string): void {
    if (this.fellBack || this.stopped) return;
    this.fellBack = true;
    try {
      this.options.db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The database is already closed: nothing left to checkpoint.
    }
    this.settle(new Error(reason), true);
    this.options.log?.warn(`${reason}; audit WAL checkpoints run in the agent's own thread again`);
  }
}
