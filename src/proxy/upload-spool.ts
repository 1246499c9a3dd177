import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { SpoolClaim } from './upload-spool-budget.js';

const PREFIX = 'bifrost-edge-upload-';

/** Spools not yet disposed of, removed when the process exits without their exchange having ended. */
const live = new Set<UploadSpool>();
/** Directories this process made sure exist (created 0700, only their owner may list them). */
const ensured = new Set<string>();

/** Told when a spool file could not be removed (it is then left for the next start to remove). */
export type SpoolLeftBehind = (file: string, err: Error) => void;

/**
 * A private temporary file (0600, created new) holding one request body as it arrived, so a large upload is
 * held on disk rather than in memory while Edge decides on it, then read back to forward it. Disposed of when
 * its exchange ends, however it ends; files an Edge that was killed left behind are removed when the next one
 * starts (removeLeftoverUploads: the directory is the data directory's, which one Edge at a time uses). Its share
 * of the disk budget all spools share (upload-spool-budget.ts) is given back when it is disposed of.
 */
export class UploadSpool {
  readonly path: string;
  private readonly file: fs.WriteStream;
  private readonly readers = new Set<Readable>();
  private disposed = false;
  private ending = false;
  private failed: ((err: Error) => void) | undefined;

  private constructor(dir: string, private readonly leftBehind: SpoolLeftBehind, private readonly claim: SpoolClaim | undefined) {
    this.path = path.join(dir, `${PREFIX}${process.pid}-${randomUUID()}`);
    // Opened here, not by the stream: a file the stream opened later could outlive a dispose() that came first.
    this.file = fs.createWriteStream(this.path, { fd: fs.openSync(this.path, 'wx', 0o600) });
    // A write that fails (disk full) or a file closed under the writer: told at once, so the upload is
    // refused instead of waiting for a 'drain' a failed stream never emits.
    this.file.on('error', (err) => this.fail(err));
    this.file.once('close', () => {
      if (!this.ending) this.fail(new Error('the spool file was closed before the upload was all written'));
    });
  }

  /** `claim`: the upload's share of the spool budget, released with the file. */
  static create(dir: string, leftBehind: SpoolLeftBehind = () => {}, claim?: SpoolClaim): UploadSpool {
    if (!ensured.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      ensured.add(dir);
    }
    const spool = new UploadSpool(dir, leftBehind, claim);
    if (live.size === 0) process.once('exit', removeLive);
    live.add(spool);
    return spool;
  }

  /** Appends bytes; false when the file asks the writer to wait for `onDrain`. */
  write(chunk: Buffer): boolean {
    return this.file.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.file.once('drain', resume);
  }

  /** `fail` is called once if the file cannot take the upload (a write failed, the file closed) before `finish`. */
  onFailure(fail: (err: Error) => void): void {
    this.failed = fail;
  }

  /** Resolves once every byte written is in the file; rejects with the write's error. */
  finish(): Promise<void> {
    this.ending = true;
    return new Promise((resolve, reject) => {
      if (this.file.errored) {
        reject(this.file.errored);
        return;
      }
      this.file.once('error', reject);
      this.file.end(() => {
        this.file.off('error', reject);
        resolve();
      });
    });
  }

  /** Whether the file is gone (the exchange ended, the client left): nothing can be read from it any more. */
  get removed(): boolean {
    return this.disposed;
  }

  /** The bytes from `start` to `end` (exclusive), read from the file as the reader asks for them. */
  read(start: number, end: number): Readable {
    if (this.disposed) throw new Error('the spooled upload was already removed');
    const stream = fs.createReadStream(this.path, { start, end: end - 1, highWaterMark: 64 * 1024 });
    this.readers.add(stream);
    stream.once('close', () => this.readers.delete(stream));
    return stream;
  }

  /**
   * Closes the file and removes it; safe to call more than once. Never throws: it runs in 'close' listeners and
   * on exit, where a file that cannot be removed (EBUSY, EACCES) must not crash the agent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ending = true;
    live.delete(this);
    this.file.destroy();
    for (const reader of this.readers) reader.destroy();
    try {
      fs.rmSync(this.path, { force: true });
    } catch (err) {
      this.leftBehind(this.path, err as Error);
    }
    // Given back even when the file stays behind: the next start removes it, and an Edge that cannot remove files
    // should not refuse every upload after a few.
    this.claim?.release();
    if (live.size === 0) process.off('exit', removeLive);
  }

  private fail(err: Error): void {
    if (this.ending) return;
    const failed = this.failed;
    this.failed = undefined;
    failed?.(err);
  }
}

function removeLive(): void {
  for (const spool of [...live]) spool.dispose();
}

/**
 * Removes the spool files left in an Edge's spool directory when it starts: the directory is in its data directory,
 * which one Edge at a time uses (data-dir-lock.ts), so every spool file there was left by one that was killed or
 * could not remove it, whichever process now holds its pid. Only Edge's own spool files go: the data directory may
 * be one the user chose, whose `uploads` holds their own files, or a link to another disk, which is kept as it is
 * (its target is the user's choice). Creates the directory (0700) when missing. Throws when it cannot.
 */
export function removeLeftoverUploads(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.startsWith(PREFIX)) fs.rmSync(path.join(dir, entry.name), { force: true });
  }
  ensured.add(dir);
}
