import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

const PREFIX = 'bifrost-edge-upload-';

/** Spools not yet disposed of, removed when the process exits without their exchange having ended. */
const live = new Set<UploadSpool>();
/** Directories swept of spools left behind by Edge processes that no longer run (killed, crashed). */
const swept = new Set<string>();

/**
 * A private temporary file (0600, created new) holding one request body as it arrived, so a large upload is
 * held on disk rather than in memory while Edge decides on it, then read back to forward it. Disposed of when
 * its exchange ends, however it ends; files of an Edge that was killed are removed by the next one to spool
 * in the same directory (their names carry the process id).
 */
export class UploadSpool {
  readonly path: string;
  private readonly file: fs.WriteStream;
  private readonly readers = new Set<Readable>();
  private disposed = false;

  private constructor(dir: string) {
    this.path = path.join(dir, `${PREFIX}${process.pid}-${randomUUID()}`);
    // Opened here, not by the stream: a file the stream opened later could outlive a dispose() that came first.
    this.file = fs.createWriteStream(this.path, { fd: fs.openSync(this.path, 'wx', 0o600) });
    // A write that fails (disk full) is reported by finish(); until then it must not crash the agent.
    this.file.on('error', () => {});
  }

  static create(dir: string): UploadSpool {
    sweepOnce(dir);
    const spool = new UploadSpool(dir);
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

  /** Resolves once every byte written is in the file; rejects with the write's error. */
  finish(): Promise<void> {
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

  /** The bytes from `start` to `end` (exclusive), read from the file as the reader asks for them. */
  read(start: number, end: number): Readable {
    if (this.disposed) throw new Error('the spooled upload was already removed');
    const stream = fs.createReadStream(this.path, { start, end: end - 1, highWaterMark: 64 * 1024 });
    this.readers.add(stream);
    stream.once('close', () => this.readers.delete(stream));
    return stream;
  }

  /** Closes the file and removes it; safe to call more than once. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    this.file.destroy();
    for (const reader of this.readers) reader.destroy();
    fs.rmSync(this.path, { force: true });
    if (live.size === 0) process.off('exit', removeLive);
  }
}

function removeLive(): void {
  for (const spool of [...live]) spool.dispose();
}

/** Removes spools of Edge processes that are gone; a running one's files are its own to remove. */
function sweepOnce(dir: string): void {
  if (swept.has(dir)) return;
  swept.add(dir);
  // Edge's own spool directory may not exist yet; only its owner may list it.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of fs.readdirSync(dir).filter((entry) => entry.startsWith(PREFIX))) {
    const pid = Number(name.slice(PREFIX.length).split('-', 1)[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // Another user's leftover in a shared temporary directory: theirs to remove.
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
