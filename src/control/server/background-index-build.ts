import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log.js';
import { HASH_LOOKUP_BUILD_SQL, HASH_LOOKUP_TABLE, type HashLookupProgress } from './audit-hash-lookup.js';

/** What a store starts after the server listens (ControlStore.startBackgroundWork). */
export interface BackgroundWork {
  /** Settles when the work is over: built, stopped before it ended (it goes on at the next start), or failed (logged). */
  readonly done: Promise<'built' | 'stopped' | 'failed'>;
  /** Stops it after the step under way (a short transaction). */
  stop(): Promise<void>;
}

export interface BackgroundWorkHooks {
  /** Awaited once the worker has its connection, before the build: tests hold the build there. */
  beforeBuild?: () => Promise<void>;
  /** Awaited between two ranges of the sort (none when it is one range): tests stop the build there. */
  beforeSortRange?: () => Promise<void>;
  /** Awaited before each step with how far the build is: tests hold it halfway, or watch it go on. */
  beforeStep?: (progress: HashLookupProgress) => Promise<void>;
}

/**
 * Keys per step. Each step is one transaction holding the write lock: in key order a few thousand keys fill
 * a few dozen pages, milliseconds, so an upload arriving meanwhile waits that long (its busy timeout is
 * seconds), not the whole build.
 */
const STEP_KEYS = 5000;

/**
 * Record ids per range of the sort: each is one message to the worker, and a stop is handled between two, so a
 * server stopping waits for one range (tens of milliseconds), not a sort of millions of records.
 */
const SORT_IDS = 50_000;

/** Least pause between steps: a writer's busy handler retries after 1, 2, 5, 10… ms, so it finds the lock free. */
const MIN_PAUSE_MS = 5;

/**
 * The worker: its own SQLite connection, so the sort and the steps run beside the server's connection instead
 * of in its event loop (better-sqlite3 is synchronous). Inline CommonJS, so it runs the same from the compiled
 * files and from the sources under the test runner. Does what each message says: the server's thread paces it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const sql = workerData.sql;
const db = new Database(workerData.file);
db.pragma('busy_timeout = 60000');
const progress = db.prepare(sql.progress);
// The mark when the sort began (the keys after it are sorted), how far the sort has gone, and the last key copied.
let from;
let sortedTo = 0;
let cursor;
let total;
const report = () => {
  const at = progress.get();
  return { copied: at.copied, ...(total === undefined ? {} : { total }), complete: at.complete === 1 };
};
// IMMEDIATE: it takes the write lock at BEGIN, waiting for it like any writer.
// Counts the keys it added, not those it went through: another server's build may have copied some of them.
const step = db.transaction(() => {
  const end = db.prepare(sql.stepEnd).get({ prefix: cursor.prefix, id: cursor.id, keys: workerData.stepKeys });
  const copied = end ? db.prepare(sql.copy).run({ prefix: cursor.prefix, id: cursor.id, to_prefix: end.hash_prefix, to_id: end.record_id }).changes : 0;
  const to = end ? { prefix: end.hash_prefix, id: end.record_id } : cursor;
  const complete = db.prepare(sql.moreAfter).get(to) === undefined ? 1 : 0;
  db.prepare(sql.advance).run({ prefix: to.prefix, id: to.id, copied, complete });
  return to;
}).immediate;
parentPort.postMessage({ ready: true, progress: report() });
parentPort.on('message', (message) => {
  try {
    if (message === 'stop') {
      db.close();
      parentPort.close();
    } else if (message === 'sort') {
      if (from === undefined) {
        from = progress.get();
        cursor = { prefix: from.copied_prefix, id: from.copied_id };
        db.exec(sql.sortInto);
      }
      const to = Math.min(sortedTo + workerData.sortIds, from.last_id);
      db.prepare(sql.sortChunk).run({ from_id: sortedTo, to_id: to, copied_prefix: from.copied_prefix, copied_id: from.copied_id });
      sortedTo = to;
      if (sortedTo < from.last_id) {
        parentPort.postMessage({ sorting: true, progress: report() });
      } else {
        total = from.copied + db.prepare(sql.sorted).pluck().get();
        parentPort.postMessage({ sorted: true, progress: report() });
      }
    } else {
      const startedAt = Date.now();
      cursor = step();
      parentPort.postMessage({ progress: report(), ms: Date.now() - startedAt });
    }
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

interface WorkerMessage {
  /** The first message: the worker's connection is open. */
  ready?: true;
  /** One range of record ids is sorted, and more are left. */
  sorting?: true;
  /** The keys still to copy are sorted: the steps can start. */
  sorted?: true;
  progress?: HashLookupProgress;
  /** How long the step took. */
  ms?: number;
  error?: string;
}

/**
 * Fills the hash lookup table (audit-hash-lookup.ts) of the SQLite file in a worker thread, from its high-water
 * mark: sorts the keys still to copy (a range of record ids per message, so a stop is handled between two),
 * then copies them in steps. Between steps it pauses at least as long as the
 * step took, so writers hold the lock at least half of the time; and it is paced from the server's thread, whose
 * writers block that thread while they wait for the lock: no step starts while one of them waits, which so waits
 * for one step at most.
 */
export function buildHashLookupInBackground(file: string, log: Logger, hooks: BackgroundWorkHooks = {}): BackgroundWork {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, sql: HASH_LOOKUP_BUILD_SQL, stepKeys: STEP_KEYS, sortIds: SORT_IDS, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  let stopped = false;
  let startedAt = 0;
  let pause: NodeJS.Timeout | undefined;
  const done = new Promise<'built' | 'stopped' | 'failed'>((resolve) => {
    const next = async (at: HashLookupProgress): Promise<void> => {
      await hooks.beforeStep?.(at);
      if (!stopped) worker.postMessage('step');
    };
    const finish = (outcome: 'built' | 'failed') => {
      stopped = true;
      worker.postMessage('stop');
      resolve(outcome);
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.error !== undefined) {
        log.error(`could not build the hash lookup ${HASH_LOOKUP_TABLE}: ${message.error}; lookups by hash keep reading each chain, and the next start goes on from where it stopped`);
        finish('failed');
        return;
      }
      const at = message.progress!;
      if (at.complete) {
        if (!message.ready) log.info(`built the hash lookup ${HASH_LOOKUP_TABLE} in ${Date.now() - startedAt} ms`);
        finish('built');
      } else if (message.ready) {
        void (hooks.beforeBuild?.() ?? Promise.resolve()).then(() => {
          if (stopped) return;
          startedAt = Date.now();
          log.info(`building the hash lookup ${HASH_LOOKUP_TABLE} in the background${at.copied > 0 ? ` (going on after the ${at.copied} records copied before)` : ''}; ` +
            'until it is complete, lookups by hash read each chain instead; uploads wait for one short step at most');
          worker.postMessage('sort');
        });
      } else if (message.sorting) {
        if (!stopped) void (hooks.beforeSortRange?.() ?? Promise.resolve()).then(() => { if (!stopped) worker.postMessage('sort'); });
      } else if (message.sorted) {
        if (!stopped) void next(at);
      } else if (!stopped) {
        pause = setTimeout(() => void next(at), Math.max(message.ms ?? 0, MIN_PAUSE_MS));
      }
    });
    worker.on('error', (error) => {
      log.error(`could not build the hash lookup ${HASH_LOOKUP_TABLE}: ${error.message}; the next start goes on from where it stopped`);
      resolve('failed');
    });
    worker.on('exit', () => resolve('stopped'));
  });
  return {
    done,
    async stop() {
      stopped = true;
      clearTimeout(pause);
      // Handled after the range of the sort or the step under way, if any: a step's transaction commits, and the next start goes on after it.
      worker.postMessage('stop');
      await done;
    },
  };
}
