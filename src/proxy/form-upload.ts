import fs from 'node:fs';
import { Readable } from 'node:stream';
import { edgeError } from '../edge-error.js';
import { boundaryOf, mediaTypeOf, readMultipartForm } from '../providers/multipart-form.js';
import { header } from '../util/header.js';
import { FormFileSplitter, FormTextTooLarge, type SetAsideContent } from './form-file-splitter.js';
import { bodyStalled, formatBytes, REQUEST_BODY_IDLE_TIMEOUT_MS, RequestBodyError, tooLarge, unreadable } from './request-body.js';
import { UploadSpool, type SpoolLeftBehind } from './upload-spool.js';

/**
 * Default bound of a multipart/form-data upload Edge reads (proxy.maxUploadBytes): above what OpenAI takes in one
 * request for its media routes (gpt-image-1 edits: several images of up to 50 MB; audio: 25 MB; videos with a
 * reference), below what fills a laptop's disk.
 */
export const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

/** Uploads up to this size stay in memory, as every body did before, so small ones never touch the disk. */
export const UPLOAD_MEMORY_BYTES = 1024 * 1024;

export interface UploadLimits {
  /** proxy.maxRequestBodyBytes: a body held in memory, or a spooled form's text (everything but file content). */
  maxTextBytes: number;
  /** proxy.maxUploadBytes: the whole upload, file content included. */
  maxUploadBytes: number;
  /** Where spooled uploads are written. */
  spoolDir: string;
  /** How long the upload may stop arriving before it is refused (408): proxy.requestBodyIdleTimeoutMs, REQUEST_BODY_IDLE_TIMEOUT_MS when absent. */
  idleTimeoutMs?: number;
  /** Told when a spool file could not be removed (the next start removes it). */
  onSpoolLeftBehind?: SpoolLeftBehind;
}

/**
 * The boundary of a request body that may be spooled: multipart/form-data as the form reader takes it, and not
 * content-encoded (a compressed form is read in memory, under proxy.maxRequestBodyBytes, as before).
 */
export function spoolableFormBoundary(headers: Record<string, string | string[] | undefined>): string | undefined {
  const contentType = header(headers['content-type']);
  if (contentType === undefined || mediaTypeOf(contentType) !== 'multipart/form-data') return undefined;
  if (header(headers['content-encoding']) !== undefined) return undefined;
  const boundary = boundaryOf(contentType);
  return boundary.ok ? boundary.boundary : undefined;
}

/**
 * A multipart/form-data upload held on disk: the form Edge inspects (its skeleton, every byte but the file
 * parts' content) in memory, the body as received in a spool file it is forwarded from.
 */
export class SpooledUpload {
  constructor(
    /** The form without its file parts' content, as readMultipartForm reads it. */
    readonly skeleton: Buffer,
    /** The body's size as received. */
    readonly size: number,
    private readonly boundary: string,
    private readonly setAside: readonly SetAsideContent[],
    private readonly spool: UploadSpool,
  ) {}

  /** The body exactly as the client sent it. */
  original(): { body: Readable; length: number } {
    return { body: unfinishedOnError(this.size === 0 ? Readable.from([]) : this.spool.read(0, this.size)), length: this.size };
  }

  /**
   * The body with the text of `rewritten` (the skeleton with changed fields, as the form reader writes it back)
   * and each file part's content from the spool, in its place: part numbers hold, as rewriting only changes
   * fields' content and appends fields at the end.
   */
  rebuilt(rewritten: Buffer): { body: Readable; length: number } {
    const reading = readMultipartForm(rewritten, this.boundary);
    if (!reading.ok) throw new Error(`the rewritten upload form cannot be read back (${reading.problem})`);
    const pieces: Array<Buffer | SetAsideContent> = [];
    let at = 0;
    for (const content of this.setAside) {
      const part = reading.form.parts[content.part];
      if (part?.filename === undefined || part.start !== part.end) throw new Error(`part ${content.part + 1} of the rewritten upload form is not the file part set aside`);
      pieces.push(rewritten.subarray(at, part.start), content);
      at = part.end;
    }
    pieces.push(rewritten.subarray(at));
    const length = pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start), 0);
    const spool = this.spool;
    async function* bytes(): AsyncGenerator<Buffer> {
      for (const piece of pieces) {
        if (Buffer.isBuffer(piece)) {
          if (piece.length > 0) yield piece;
        } else if (piece.end > piece.start) {
          yield* spool.read(piece.start, piece.end) as AsyncIterable<Buffer>;
        }
      }
    }
    return { body: unfinishedOnError(Readable.from(bytes(), { objectMode: false })), length };
  }

  /**
   * The whole body in memory, for a route that did not read it as a form: it is then judged as any other body,
   * under the same bound (a larger one is refused, 413, as before).
   */
  async whole(maxBytes: number): Promise<Buffer> {
    if (this.size > maxBytes) throw new RequestBodyError(tooLarge(this.size, maxBytes));
    const raw = await fs.promises.readFile(this.spool.path);
    this.dispose();
    return raw;
  }

  /** Whether the spool file is gone (the exchange ended, the client left): the body can no longer be sent. */
  get removed(): boolean {
    return this.spool.removed;
  }

  /** Removes the spool file (the exchange ended); safe to call more than once. */
  dispose(): void {
    this.spool.dispose();
  }
}

/**
 * A body read from the spool fails when the spool is removed under it (the client left, Edge stopping): its
 * upstream request is ended by the same exchange end, and stays unfinished meanwhile (a failed source is not
 * ended through pipe), so the error has nothing left to tell. Unheard, it would crash the agent.
 */
function unfinishedOnError(body: Readable): Readable {
  return body.on('error', () => {});
}

/**
 * Reads a multipart/form-data body: in memory while it stays under UPLOAD_MEMORY_BYTES (and proxy.maxRequestBodyBytes),
 * as every body is; past that into a spool file, with the form's text kept in memory as it arrives. Refused (413)
 * past `maxUploadBytes` in all, or past `maxTextBytes` of text, (507) as soon as the spool file cannot take it,
 * (408) when it stops arriving for `idleTimeoutMs`; the spool is removed when reading fails.
 */
export function readFormUpload(req: Readable & { headers: Record<string, string | string[] | undefined>; socket?: Readable; complete?: boolean }, boundary: string, limits: UploadLimits): Promise<Buffer | SpooledUpload> {
  const declared = Number(header(req.headers['content-length']) ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxUploadBytes) {
    req.resume();
    return Promise.reject(new RequestBodyError(uploadTooLarge(declared, limits.maxUploadBytes)));
  }
  const memoryBytes = Math.min(UPLOAD_MEMORY_BYTES, limits.maxTextBytes);
  const idleMs = limits.idleTimeoutMs ?? REQUEST_BODY_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let held: Buffer[] = [];
    let size = 0;
    let spooling: { spool: UploadSpool; splitter: FormFileSplitter } | undefined;
    let settled = false;
    // Runs only while Edge waits for the client: not while the spool file makes the reader wait (onDrain).
    let idleTimer: NodeJS.Timeout | undefined;
    const stopIdleTimer = () => clearTimeout(idleTimer);
    const startIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => fail(new RequestBodyError(bodyStalled('the upload', idleMs))), idleMs);
    };
    const settle = () => {
      settled = true;
      stopIdleTimer();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      req.socket?.off('end', onSocketEnd);
    };
    const fail = (err: RequestBodyError) => {
      if (settled) return;
      settle();
      held = [];
      spooling?.spool.dispose();
      // What is left of the body is read and dropped, so the refusal can be answered on this connection.
      req.resume();
      reject(err);
    };
    let waiting = false;
    const spoolChunk = (chunk: Buffer) => {
      spooling!.splitter.push(chunk);
      if (!spooling!.spool.write(chunk) && !waiting) {
        waiting = true;
        req.pause();
        stopIdleTimer();
        spooling!.spool.onDrain(() => {
          waiting = false;
          if (settled) return;
          startIdleTimer();
          req.resume();
        });
      }
    };
    const onData = (chunk: Buffer) => {
      if (!waiting) startIdleTimer();
      size += chunk.length;
      if (size > limits.maxUploadBytes) {
        fail(new RequestBodyError(uploadTooLarge(size, limits.maxUploadBytes)));
        return;
      }
      try {
        if (spooling !== undefined) {
          spoolChunk(chunk);
          return;
        }
        held.push(chunk);
        if (size <= memoryBytes) return;
        const spool = UploadSpool.create(limits.spoolDir, limits.onSpoolLeftBehind);
        spooling = { spool, splitter: new FormFileSplitter(boundary, limits.maxTextBytes) };
        // Refused at once (the rest of the body dropped, the partial file removed), not when the body ends.
        spool.onFailure((err) => fail(spoolFailed(err)));
        const first = held;
        held = [];
        for (const c of first) spoolChunk(c);
      } catch (err) {
        fail(err instanceof FormTextTooLarge ? new RequestBodyError(formTextTooLarge(err.size, limits.maxTextBytes)) : spoolFailed(err as Error));
      }
    };
    const onEnd = () => {
      if (settled) return;
      settle();
      if (spooling === undefined) {
        resolve(held.length === 1 ? held[0]! : Buffer.concat(held, size));
        return;
      }
      const { spool, splitter } = spooling;
      const skeleton = splitter.end();
      spool.finish().then(
        () => resolve(new SpooledUpload(skeleton, size, boundary, splitter.setAside, spool)),
        (err: Error) => {
          spool.dispose();
          reject(spoolFailed(err));
        },
      );
    };
    const onError = (err: Error) => fail(new RequestBodyError(unreadable(err)));
    // A client that goes away mid-upload closes the request without ending it (Node may not report an error),
    // or only ends its side of the connection: the HTTP server then reports a parse error to http-mitm-proxy,
    // which leaves the request open until a timeout, while no more of the body can come.
    const onClose = () => fail(new RequestBodyError(unreadable(new Error('the client closed the connection before sending all of it'))));
    // Ended after the whole body arrived, the request still ends once its buffered bytes are read.
    const onSocketEnd = () => {
      if (req.complete !== true) onClose();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
    req.socket?.once('end', onSocketEnd);
    startIdleTimer();
    req.resume();
  });
}

function uploadTooLarge(size: number, maxBytes: number) {
  return edgeError(413, 'request_too_large',
    `The upload (${formatBytes(size)}${size > maxBytes ? ' or more' : ''}) is larger than the ${formatBytes(maxBytes)} Bifrost Edge accepts in a multipart/form-data upload. Send smaller files or ask IT to raise proxy.maxUploadBytes.`);
}

function formTextTooLarge(size: number, maxBytes: number) {
  return edgeError(413, 'request_too_large',
    `The text of this multipart/form-data upload, its files aside (${formatBytes(size)} or more), is larger than the ${formatBytes(maxBytes)} Bifrost Edge inspects. Send shorter text fields, or files as file parts (with a filename), or ask IT to raise proxy.maxRequestBodyBytes.`);
}

function spoolFailed(err: Error): RequestBodyError {
  return new RequestBodyError(edgeError(507, 'insufficient_storage',
    `Bifrost Edge could not hold the upload on disk while inspecting it (${err.message}). Free some disk space and send it again.`));
}
