import fs from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { edgeError, type EdgeError } from '../edge-error.js';
import { malformedFormError } from '../providers/form-request-body.js';
import { boundaryOf, mediaTypeOf, readMultipartForm } from '../providers/multipart-form.js';
import { header } from '../util/header.js';
import { FormFileSplitter, FormFramingBroken, FormTextTooLarge, type SetAsideContent } from './form-file-splitter.js';
import { bodyStalled, dataAfterCompressed, formatBytes, REQUEST_BODY_IDLE_TIMEOUT_MS, RequestBodyError, tooLarge, unreadable } from './request-body.js';
import { createContentDecoder, streamableContentCoding } from './streaming-content-decoder.js';
import { UploadSpool, type SpoolLeftBehind } from './upload-spool.js';
import { DEFAULT_MAX_UPLOAD_SPOOL_BYTES, uploadSpoolBudget, type SpoolClaim } from './upload-spool-budget.js';

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
  /**
   * proxy.maxUploadSpoolBytes: what all uploads spooled at once may take on disk together (DEFAULT_MAX_UPLOAD_SPOOL_BYTES
   * when absent; never less than maxUploadBytes, so one upload alone always fits). Past it an upload is refused (503).
   */
  maxSpoolBytes?: number;
  /** How long the upload may stop arriving before it is refused (408): proxy.requestBodyIdleTimeoutMs, REQUEST_BODY_IDLE_TIMEOUT_MS when absent. */
  idleTimeoutMs?: number;
  /** Told when a spool file could not be removed (the next start removes it). */
  onSpoolLeftBehind?: SpoolLeftBehind;
  /** Told how far a spooled upload has come while it is still arriving (a debug log line), at most every `every` bytes or ms. */
  progress?: UploadProgress;
  /**
   * Asked once a spooled form's framing breaks, with the form read up to the break (its skeleton) and the form
   * reader's problem: what to refuse it with at once (the rest of the body dropped), or undefined where the route
   * does not read the body as a form (an MCP host's other traffic): it is then spooled to its end, its skeleton no
   * further, for the caller to judge whole. Absent: refused as a malformed form.
   */
  onFramingBroken?: (skeleton: Buffer, problem: string) => EdgeError | undefined;
}

/** How far a spooled upload has come: bytes received, and for a compressed one decoded. */
export interface UploadProgressReport {
  received: number;
  decoded?: number;
}

export interface UploadProgress {
  report(progress: UploadProgressReport): void;
  /** Reported once this many more bytes came since the last report... */
  everyBytes: number;
  /** ...or this long after it, whichever is first (checked as bytes arrive: a stalled upload is not reported). */
  everyMs: number;
}

/** A report of an upload still arriving every 64 MiB or 10 s: a few lines for the largest upload on a fast link. */
export const UPLOAD_PROGRESS_BYTES = 64 * 1024 * 1024;
export const UPLOAD_PROGRESS_MS = 10_000;

/**
 * The boundary of a request body that may be spooled: multipart/form-data as the form reader takes it, plain or in
 * one Content-Encoding decoded as it arrives (streamableContentCoding). Any other coding is read in memory, under
 * proxy.maxRequestBodyBytes, and refused there when Edge cannot decode it.
 */
export function spoolableFormBoundary(headers: Record<string, string | string[] | undefined>): string | undefined {
  const contentType = header(headers['content-type']);
  if (contentType === undefined || mediaTypeOf(contentType) !== 'multipart/form-data') return undefined;
  if (streamableContentCoding(header(headers['content-encoding'])) === undefined) return undefined;
  const boundary = boundaryOf(contentType);
  return boundary.ok ? boundary.boundary : undefined;
}

/**
 * A multipart/form-data upload held on disk: the form Edge inspects (its skeleton, every byte but the file
 * parts' content) in memory, the body as received in a spool file it is forwarded from. A compressed body is
 * held as received; its skeleton and file ranges are those of the body decoded.
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
    /** The body's Content-Encoding (gzip, deflate, br), lower-cased; undefined when it came plain. */
    readonly contentCoding?: string,
  ) {}

  /** The body exactly as the client sent it (compressed, when it came compressed). */
  original(): { body: Readable; length: number } {
    return { body: unfinishedOnError(this.size === 0 ? Readable.from([]) : this.spool.read(0, this.size)), length: this.size };
  }

  /**
   * The body with the text of `rewritten` (the skeleton with changed fields, as the form reader writes it back)
   * and each file part's content from the spool, in its place: part numbers hold, as rewriting only changes
   * fields' content and appends fields at the end. Always plain: a compressed body's file content is decoded from
   * the spool as it is sent, so the caller drops the Content-Encoding as for any rewritten body.
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
    const { spool, size, contentCoding } = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      const decoded = contentCoding === undefined ? undefined : new ByteCursor(decodedSpool(spool, size, contentCoding));
      try {
        for (const piece of pieces) {
          if (Buffer.isBuffer(piece)) {
            if (piece.length > 0) yield piece;
          } else if (piece.end > piece.start) {
            yield* decoded === undefined ? spool.read(piece.start, piece.end) as AsyncIterable<Buffer> : decoded.range(piece.start, piece.end);
          }
        }
      } finally {
        decoded?.close();
      }
    }
    return { body: unfinishedOnError(Readable.from(bytes(), { objectMode: false })), length };
  }

  /**
   * The whole body in memory, as received (compressed when it came compressed: see contentCoding), for a route that
   * did not read it as a form: it is then judged as any other body, under the same bound (a larger one is refused,
   * 413, as before).
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

/** The spooled body as received, decoded; a failure of either stream (the spool removed) ends the other. */
function decodedSpool(spool: UploadSpool, size: number, coding: string): Readable {
  const decoder = createContentDecoder(coding);
  if (size === 0) decoder.end();
  else pipeline(spool.read(0, size), decoder, () => {});
  return decoder;
}

/** Reads a stream forward by byte ranges (increasing, not overlapping): the bytes between them are skipped. */
class ByteCursor {
  private readonly chunks: AsyncIterator<Buffer>;
  /** Read but not yet passed, and where it starts in the stream. */
  private pending: Buffer = Buffer.alloc(0);
  private at = 0;

  constructor(private readonly stream: Readable) {
    this.chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async *range(start: number, end: number): AsyncGenerator<Buffer> {
    while (start < end) {
      if (this.pending.length === 0) {
        const next = await this.chunks.next();
        if (next.done === true) throw new Error('the spooled upload ended before the file content it holds');
        this.pending = next.value;
      }
      const pendingEnd = this.at + this.pending.length;
      if (pendingEnd <= start) {
        this.at = pendingEnd;
        this.pending = Buffer.alloc(0);
        continue;
      }
      const to = Math.min(end, pendingEnd) - this.at;
      yield this.pending.subarray(start - this.at, to);
      this.pending = this.pending.subarray(to);
      this.at += to;
      start = this.at;
    }
  }

  close(): void {
    this.stream.destroy();
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
 * past `maxUploadBytes` in all, or past `maxTextBytes` of text, (400) as soon as the form's framing breaks where the
 * route reads it as a form (onFramingBroken: the rest of a broken form is not text to bound, nor a form to forward),
 * (507) as soon as the spool file cannot take it, (503, for now only) as soon as the spool budget all uploads share
 * cannot (`maxSpoolBytes`), (408) when it stops arriving for `idleTimeoutMs`; the spool is removed, and its share of
 * the budget given back, when reading fails.
 *
 * A compressed body (one Content-Encoding Node decodes as it arrives: gzip, deflate, br) is read the same way: the
 * spool holds the bytes as received, which are what is forwarded unless the text is changed, and the form is read
 * from them decoded as they arrive. Both bounds apply to it decoded, so a decompression bomb is refused (413) as soon
 * as its output passes `maxUploadBytes`, having written no more than its compressed bytes. One held in memory is
 * returned as received (the caller decodes it, as any body).
 */
export function readFormUpload(req: Readable & { headers: Record<string, string | string[] | undefined>; socket?: Readable; complete?: boolean }, boundary: string, limits: UploadLimits): Promise<Buffer | SpooledUpload> {
  const declared = Number(header(req.headers['content-length']) ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxUploadBytes) {
    req.resume();
    return Promise.reject(new RequestBodyError(uploadTooLarge(declared, limits.maxUploadBytes)));
  }
  const coding = streamableContentCoding(header(req.headers['content-encoding']));
  if (coding === undefined) {
    req.resume();
    return Promise.reject(new Error('readFormUpload was given a body whose Content-Encoding it cannot decode as it arrives (see spoolableFormBoundary)'));
  }
  const memoryBytes = Math.min(UPLOAD_MEMORY_BYTES, limits.maxTextBytes);
  const idleMs = limits.idleTimeoutMs ?? REQUEST_BODY_IDLE_TIMEOUT_MS;
  const spoolLimit = Math.max(limits.maxSpoolBytes ?? DEFAULT_MAX_UPLOAD_SPOOL_BYTES, limits.maxUploadBytes);
  // The disk an upload takes is claimed as it arrives, before it is written, and given back when its spool file is
  // removed. What it declares is only checked against what is free now, not held: held, a few clients declaring the
  // largest upload and sending nothing would keep every other upload out for as long as they trickle. Uploads
  // admitted side by side may then outgrow the budget together; the one whose bytes do not fit is refused (503).
  const claim = uploadSpoolBudget.claim();
  if (Number.isFinite(declared) && declared > memoryBytes && !claim.couldCover(declared, spoolLimit)) {
    req.resume();
    return Promise.reject(spoolBudgetFull(claim, declared, spoolLimit, false));
  }
  return new Promise((resolve, reject) => {
    /** The body as received, while it is held in memory. */
    let held: Buffer[] = [];
    /** A compressed body's decoded bytes, while it is held in memory (for the form reader, if it is spooled after all). */
    let decodedHeld: Buffer[] = [];
    /** Bytes received, and (for a compressed body) decoded so far. */
    let size = 0;
    let decodedSize = 0;
    let spooling: { spool: UploadSpool; splitter: FormFileSplitter } | undefined;
    /** The form's framing broke on a route that does not read it as a form: the rest is spooled, not split. */
    let splittingStopped = false;
    let settled = false;
    const decoder = coding === 'identity' ? undefined : createContentDecoder(coding);
    // Runs only while Edge waits for the client: not while the spool file or the decoder makes the reader wait.
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
      decodedHeld = [];
      spooling?.spool.dispose();
      claim.release();
      // Its work stops here: a bomb is not inflated any further.
      decoder?.destroy();
      // What is left of the body is read and dropped, so the refusal can be answered on this connection.
      req.resume();
      reject(err);
    };
    /** The writers (the spool file, the decoder) the reader waits for: the client's bytes wait in its socket meanwhile. */
    const waitingOn = new Set<'spool' | 'decoder'>();
    const waitFor = (writer: 'spool' | 'decoder') => {
      if (waitingOn.has(writer)) return;
      if (waitingOn.size === 0) {
        req.pause();
        stopIdleTimer();
      }
      waitingOn.add(writer);
      const resume = () => {
        waitingOn.delete(writer);
        if (waitingOn.size > 0 || settled) return;
        startIdleTimer();
        req.resume();
      };
      if (writer === 'spool') spooling!.spool.onDrain(resume);
      else decoder!.once('drain', resume);
    };
    const toSpool = (chunk: Buffer) => {
      if (!spooling!.spool.write(chunk)) waitFor('spool');
    };
    /** Past the memory bound (as received or decoded): the body held so far goes to a spool file, the form's text to the splitter. */
    const startSpooling = () => {
      if (!claim.cover(size, spoolLimit)) {
        fail(spoolBudgetFull(claim, size, spoolLimit, true));
        return;
      }
      const spool = UploadSpool.create(limits.spoolDir, limits.onSpoolLeftBehind, claim);
      spooling = { spool, splitter: new FormFileSplitter(boundary, limits.maxTextBytes) };
      // Refused at once (the rest of the body dropped, the partial file removed), not when the body ends.
      spool.onFailure((err) => fail(spoolFailed(err)));
      const received = held;
      const decoded = decoder === undefined ? held : decodedHeld;
      held = [];
      decodedHeld = [];
      // Spooled first: a form that breaks here may still go on to its end, spooled whole.
      for (const c of received) toSpool(c);
      for (const c of decoded) split(c);
    };
    /** The next bytes of the form (decoded) to the splitter; FormTextTooLarge is thrown on, for failOn. */
    const split = (chunk: Buffer) => {
      if (settled || splittingStopped) return;
      try {
        spooling!.splitter.push(chunk);
      } catch (err) {
        if (!(err instanceof FormFramingBroken)) throw err;
        const refusal = limits.onFramingBroken === undefined ? malformedFormError(err.problem) : limits.onFramingBroken(spooling!.splitter.end(), err.problem);
        if (refusal === undefined) splittingStopped = true;
        else fail(new RequestBodyError(refusal));
      }
    };
    let reportedAt = { bytes: 0, ms: Date.now() };
    /** A spooled upload still arriving: its progress, when a step in bytes or time passed since the last report. */
    const reportProgress = () => {
      const progress = limits.progress;
      if (progress === undefined) return;
      const now = Date.now();
      if (size - reportedAt.bytes < progress.everyBytes && now - reportedAt.ms < progress.everyMs) return;
      reportedAt = { bytes: size, ms: now };
      progress.report(decoder === undefined ? { received: size } : { received: size, decoded: decodedSize });
    };
    const failOn = (err: unknown) => fail(err instanceof FormTextTooLarge ? new RequestBodyError(formTextTooLarge(err.size, limits.maxTextBytes)) : spoolFailed(err as Error));
    const onData = (chunk: Buffer) => {
      if (waitingOn.size === 0) startIdleTimer();
      size += chunk.length;
      if (size > limits.maxUploadBytes) {
        fail(new RequestBodyError(uploadTooLarge(size, limits.maxUploadBytes)));
        return;
      }
      try {
        if (spooling !== undefined) {
          if (!claim.cover(size, spoolLimit)) {
            fail(spoolBudgetFull(claim, size, spoolLimit, true));
            return;
          }
          if (decoder === undefined) split(chunk);
          if (settled) return;
          toSpool(chunk);
          reportProgress();
        } else {
          held.push(chunk);
          if (size > memoryBytes) startSpooling();
        }
      } catch (err) {
        failOn(err);
        return;
      }
      if (decoder !== undefined && !settled && !decoder.write(chunk)) waitFor('decoder');
    };
    const onDecoded = (chunk: Buffer) => {
      if (settled) return;
      decodedSize += chunk.length;
      if (decodedSize > limits.maxUploadBytes) {
        fail(new RequestBodyError(decodedTooLarge(decodedSize, limits.maxUploadBytes, coding)));
        return;
      }
      if (decodedSize > DECODED_RATIO_CHECKED_PAST && decodedSize > MAX_DECODED_RATIO * size) {
        fail(new RequestBodyError(decodedRatioTooHigh(decodedSize, size, coding)));
        return;
      }
      try {
        if (spooling !== undefined) {
          split(chunk);
        } else {
          decodedHeld.push(chunk);
          if (decodedSize > memoryBytes) startSpooling();
        }
      } catch (err) {
        failOn(err);
      }
    };
    /** Every byte arrived (and was decoded): the body held in memory, or the spooled upload once its file has it all. */
    const finish = () => {
      if (spooling === undefined) {
        claim.release();
        resolve(held.length === 1 ? held[0]! : Buffer.concat(held, size));
        return;
      }
      const { spool, splitter } = spooling;
      const skeleton = splitter.end();
      spool.finish().then(
        () => resolve(new SpooledUpload(skeleton, size, boundary, splitter.setAside, spool, coding === 'identity' ? undefined : coding)),
        (err: Error) => {
          spool.dispose();
          reject(spoolFailed(err));
        },
      );
    };
    const onEnd = () => {
      if (settled) return;
      if (decoder === undefined) {
        settle();
        finish();
        return;
      }
      // The body is all here, its decoding perhaps not: the reader settles once the decoder has given all of it.
      req.off('close', onClose);
      req.socket?.off('end', onSocketEnd);
      stopIdleTimer();
      decoder.once('end', () => {
        if (settled) return;
        // Node's decoders stop at the end of the compressed data and drop what follows (zero padding and another
        // gzip member, anything after a deflate or br stream), which would be forwarded unread: other decoders may
        // read it as more of the form.
        if (decoder.bytesWritten !== size) {
          fail(new RequestBodyError(dataAfterCompressed(coding, size - decoder.bytesWritten)));
          return;
        }
        settle();
        finish();
      });
      decoder.end();
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
    if (decoder !== undefined) {
      decoder.on('data', onDecoded);
      decoder.on('error', (err) => fail(new RequestBodyError(notDecodable(coding, err))));
    }
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

function decodedTooLarge(size: number, maxBytes: number, coding: string) {
  return edgeError(413, 'request_too_large',
    `The upload, decompressed from its Content-Encoding: ${coding} (${formatBytes(size)} or more), is larger than the ${formatBytes(maxBytes)} Bifrost Edge accepts in a multipart/form-data upload. Send smaller files or ask IT to raise proxy.maxUploadBytes.`);
}

/**
 * A compressed upload is refused once it decodes to more than this many times its received size: above what gzip and
 * deflate can reach (about 1030:1), so only a bomb (br or zstd of a few KiB decoding to hundreds of MiB) meets it,
 * refused before it costs the time of decoding and searching all of it.
 */
export const MAX_DECODED_RATIO = 1100;
/** ...checked once this much was decoded: a small body may compress better, and costs little whatever it holds. */
export const DECODED_RATIO_CHECKED_PAST = 8 * 1024 * 1024;

function decodedRatioTooHigh(decoded: number, received: number, coding: string) {
  return edgeError(413, 'request_too_large',
    `The upload decompresses from its Content-Encoding: ${coding} to more than ${MAX_DECODED_RATIO} times its size (${formatBytes(decoded)} or more from ${formatBytes(received)}), which Bifrost Edge refuses as a decompression bomb. Send it uncompressed, or compressed less.`);
}

function notDecodable(coding: string, err: Error) {
  return edgeError(400, 'invalid_request', `The request body says Content-Encoding: ${coding} but is not valid ${coding} data (${err.message}).`);
}

function formTextTooLarge(size: number, maxBytes: number) {
  return edgeError(413, 'request_too_large',
    `The text of this multipart/form-data upload, its files aside (${formatBytes(size)} or more), is larger than the ${formatBytes(maxBytes)} Bifrost Edge inspects. Send shorter text fields, or files as file parts (with a filename), or ask IT to raise proxy.maxRequestBodyBytes.`);
}

/** How long a client refused for a full spool budget is asked to wait: about what a large upload on a fast link takes. */
export const SPOOL_BUDGET_RETRY_AFTER_SECONDS = 30;

function spoolBudgetFull(claim: SpoolClaim, size: number, limit: number, sizeSoFar: boolean): RequestBodyError {
  const others = uploadSpoolBudget.used - claim.size;
  return new RequestBodyError(edgeError(503, 'upload_spool_full',
    `Bifrost Edge is holding ${formatBytes(others)} of other uploads on disk while it inspects them, and this upload (${formatBytes(size)}${sizeSoFar ? ' or more' : ''}) would take them past the ${formatBytes(limit)} it holds at once (proxy.maxUploadSpoolBytes). Send it again in a moment, once they have gone through, or ask IT to raise proxy.maxUploadSpoolBytes.`),
  SPOOL_BUDGET_RETRY_AFTER_SECONDS);
}

function spoolFailed(err: Error): RequestBodyError {
  return new RequestBodyError(edgeError(507, 'insufficient_storage',
    `Bifrost Edge could not hold the upload on disk while inspecting it (${err.message}). Free some disk space and send it again.`));
}
