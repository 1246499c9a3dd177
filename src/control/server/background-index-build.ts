import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log.js';

/** What a store starts after the server listens (ControlStore.startBackgroundWork). */
export interface BackgroundWork {
  /** Settles when the work is over: built, stopped before it ran, or failed (logged). */
  readonly done: Promise<'built' | 'stopped' | 'failed'>;
  /** Stops it (a build already running in SQLite finishes first: SQLite cannot be interrupted from here). */
  stop(): Promise<void>;
}

export interface BackgroundWorkHooks {
  /** Awaited once the worker has its connection, before the build: tests hold the build there. */
  beforeBuild?: () => Promise<void>;
}

/**
 * The worker: its own SQLite connection, so the build runs beside the server's connection instead of
 * blocking its event loop (better-sqlite3 is synchronous). Inline CommonJS, so it runs the same from the
 * compiled files and from the sources under the test runner. Waits to be told to build.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 60000');
parentPort.postMessage({ ready: true });
parentPort.once('message', () => {
  try {
    db.exec(workerData.sql);
    parentPort.postMessage({ built: true });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  } finally {
    db.close();
  }
});
`;

/**
 * Runs `sql` (a CREATE INDEX IF NOT EXISTS) on the SQLite file in a worker thread. One statement, one
 * transaction: a server stopped or killed during it leaves no index, and the next start builds it again.
 */
export function buildIndexInBackground(file: string, name: string, sql: string, log: Logger, hooks: BackgroundWorkHooks = {}): BackgroundWork {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sql, driver: createRequire(import.meta.url).resolve('better-sqlite3') } });
  let stopped = false;
  let startedAt = 0;
  const done = new Promise<'built' | 'stopped' | 'failed'>((resolve) => {
    worker.on('message', (message: { ready?: true; built?: true; error?: string }) => {
      if (message.ready) {
        void (hooks.beforeBuild?.() ?? Promise.resolve()).then(() => {
          if (stopped) return;
          startedAt = Date.now();
          log.info(`building the index ${name} in the background; until it exists, lookups by hash read each chain instead`);
          worker.postMessage('build');
        });
      } else if (message.built) {
        log.info(`built the index ${name} in ${Date.now() - startedAt} ms`);
        resolve('built');
      } else {
        log.error(`could not build the index ${name}: ${message.error}; lookups by hash keep reading each chain, and the next start tries again`);
        resolve('failed');
      }
    });
    worker.on('error', (error) => {
      log.error(`could not build the index ${name}: ${error.message}; the next start tries again`);
      resolve('failed');
    });
    worker.on('exit', () => resolve('stopped'));
  });
  return {
    done,
    async stop() {
      stopped = true;
      await worker.terminate();
      await done;
    },
  };
}
