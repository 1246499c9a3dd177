import { readMultipartForm, readPartHead } from '../providers/multipart-form.js';

/** Where one file part's content lies in the body as the client sent it. */
export interface SetAsideContent {
  /** The part's place in the form (0 for the first part). */
  part: number;
  /** Byte range of the content in the body as received. */
  start: number;
  end: number;
}

/** The text of the form outside its file parts grew past the bound Edge inspects. */
export class FormTextTooLarge extends Error {
  constructor(readonly size: number) {
    super('the form outside its file parts is too large to inspect');
  }
}

/**
 * The form's framing broke (a boundary line that goes on, a part's malformed headers): as a form it is refused,
 * however the rest of the body goes, so it is said at once rather than the rest kept as text. `problem` is the form
 * reader's. A body the route does not read as a form is no form to refuse: the caller decides (readFormUpload).
 */
export class FormFramingBroken extends Error {
  constructor(readonly problem: string) {
    super(`the form is malformed: ${problem}`);
  }
}

type Phase =
  /** Before the first boundary (the preamble). */
  | 'first'
  /** Just after a boundary: the closing `--`, or not... */
  | 'boundary-line'
  /** ...then the rest of a boundary line: transport padding and CRLF. */
  | 'boundary-line-end'
  | 'headers'
  | 'text'
  | 'file'
  /** After the closing boundary (the epilogue): kept whole, for the form reader to judge. */
  | 'rest'
  /** Where the framing goes wrong: nothing more is read (FormFramingBroken), nor taken into the skeleton. */
  | 'broken';

const CR = 0x0d;
const LF = 0x0a;
const BLANK_LINE = Buffer.from('\r\n\r\n');

/**
 * Splits a multipart/form-data body, as it arrives, into the form Edge inspects (its skeleton: every byte
 * except the content of file parts) and the ranges of file content it does not read, which stay in the
 * spooled body. Only memory for the skeleton is kept, bounded by `maxSkeletonBytes`.
 *
 * The skeleton is the body with each file part's content left out, nothing else changed: readMultipartForm
 * reads from it the same parts, names, headers and text it reads from the whole body, file parts empty. It
 * follows readMultipartForm's framing step by step; wherever that reader would find a problem in it, splitting
 * stops ('broken') and the splitter says so at once with the reader's own words for the skeleton read so far
 * (FormFramingBroken): the reader stops at its first problem, so the rest of the body could not change them, and a
 * large upload would otherwise keep every byte after the break as text, to be refused as too much of it.
 * File content is searched for the boundary as the reader's stray-boundary check does (a `--boundary` not at
 * the start of a line after CRLF): a part holding one keeps that `--boundary` in the skeleton, where the
 * reader finds it and refuses the form as it would the whole body.
 */
export class FormFileSplitter {
  readonly setAside: SetAsideContent[] = [];
  private readonly dashBoundary: Buffer;
  private readonly delimiter: Buffer;
  private readonly skeleton = new GrowingBuffer();
  private phase: Phase = 'first';
  /** Where in the skeleton the current phase reads from. */
  private at = 0;
  /** Where in the skeleton the next search starts: matches before it were looked for already. */
  private scanFrom = 0;
  /** The current part's index in the form. */
  private part = 0;
  /** How far the skeleton lags behind the body (file content left out): a skeleton offset plus this is the body's. */
  private skipped = 0;
  /** The current file part: where its content starts in the body, and what of it is still searched. */
  private content = { start: 0, windowStart: 0, tail: Buffer.alloc(0), stray: false };

  constructor(private readonly boundary: string, private readonly maxSkeletonBytes: number) {
    this.dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /**
   * Takes the next bytes of the body; throws FormFramingBroken once the form's framing breaks, FormTextTooLarge when
   * the skeleton passes its bound.
   */
  push(chunk: Buffer): void {
    if (this.broken) throw new FormFramingBroken(this.framingProblem());
    let rest: Buffer | undefined = chunk;
    while (rest !== undefined && rest.length > 0) {
      if (this.phase === 'file') {
        rest = this.scanFileContent(rest);
      } else {
        this.skeleton.append(rest);
        rest = this.advance();
      }
    }
    if (this.broken) throw new FormFramingBroken(this.framingProblem());
    if (this.skeleton.length > this.maxSkeletonBytes) throw new FormTextTooLarge(this.skeleton.length);
  }

  /** A getter, so TypeScript does not carry what it learnt of the phase before advance() (which moves it on) past it. */
  private get broken(): boolean {
    return this.phase === 'broken';
  }

  /** What the form reader says of the skeleton up to the break: what it would say of the whole body. */
  private framingProblem(): string {
    const reading = readMultipartForm(this.skeleton.bytes(), this.boundary);
    // The reader never takes it whole (the splitter follows it step by step); should the two ever part, it is still refused.
    return reading.ok ? 'its framing is broken' : reading.problem;
  }

  /** The skeleton, once the whole body was pushed. */
  end(): Buffer {
    // A body cut off inside a file part: the reader says so, unless that content held a stray boundary it finds first.
    if (this.phase === 'file' && this.content.stray) this.skeleton.append(this.dashBoundary);
    return this.skeleton.bytes();
  }

  /** Reads the skeleton forward; returns the bytes after it that are a file part's content, when one starts. */
  private advance(): Buffer | undefined {
    const b = this.skeleton.bytes();
    for (;;) {
      switch (this.phase) {
        case 'first': {
          const db = this.dashBoundary;
          if (b.length < db.length && db.subarray(0, b.length).equals(b)) return undefined;
          if (b.subarray(0, db.length).equals(db)) {
            this.at = db.length;
          } else {
            const found = b.indexOf(this.delimiter, this.scanFrom);
            if (found === -1) return this.waitFor(this.delimiter.length, 0);
            this.at = found + this.delimiter.length;
          }
          this.phase = 'boundary-line';
          break;
        }
        case 'boundary-line': {
          if (b.length < this.at + 2) return undefined;
          if (b[this.at] === 0x2d && b[this.at + 1] === 0x2d) {
            this.phase = 'rest';
            break;
          }
          this.phase = 'boundary-line-end';
          break;
        }
        case 'boundary-line-end': {
          // `--` closes the form only right after the boundary: after spaces it is a boundary line going on.
          while (b[this.at] === 0x20 || b[this.at] === 0x09) this.at++;
          if (b.length < this.at + 2) return undefined;
          if (b[this.at] !== CR || b[this.at + 1] !== LF) {
            this.phase = 'broken';
            break;
          }
          this.at += 2;
          this.scanFrom = this.at;
          this.phase = 'headers';
          break;
        }
        case 'headers': {
          const headersEnd = b.indexOf(BLANK_LINE, this.scanFrom);
          const nextDelimiter = b.indexOf(this.delimiter, this.scanFrom);
          if (nextDelimiter !== -1 && (headersEnd === -1 || nextDelimiter < headersEnd)) {
            this.phase = 'broken';
            break;
          }
          if (headersEnd === -1) return this.waitFor(this.delimiter.length, this.at);
          const head = readPartHead(b.toString('utf8', this.at, headersEnd));
          if (typeof head === 'string') {
            this.phase = 'broken';
            break;
          }
          const start = headersEnd + BLANK_LINE.length;
          if (head.filename !== undefined) {
            const content = Buffer.from(b.subarray(start));
            this.skeleton.truncate(start);
            this.content = { start: start + this.skipped, windowStart: start + this.skipped, tail: Buffer.alloc(0), stray: false };
            this.phase = 'file';
            return content;
          }
          this.at = start;
          this.scanFrom = start;
          this.phase = 'text';
          break;
        }
        case 'text': {
          const end = b.indexOf(this.delimiter, this.scanFrom);
          if (end === -1) return this.waitFor(this.delimiter.length, this.at);
          this.nextPart(end + this.delimiter.length);
          break;
        }
        case 'file':
        case 'rest':
        case 'broken':
          return undefined;
      }
    }
  }

  /** Nothing found yet: the next search starts where a match could still end in bytes to come. */
  private waitFor(patternLength: number, notBefore: number): undefined {
    this.scanFrom = Math.max(notBefore, this.skeleton.length - patternLength + 1);
    return undefined;
  }

  private nextPart(at: number): void {
    this.at = at;
    this.part++;
    this.phase = 'boundary-line';
  }

  /**
   * Searches file content for the delimiter (`\r\n--boundary`) that ends the part (returned with what follows, the
   * skeleton's again), and, until one is found, for a stray `--boundary` before it: one not after CRLF, or at the
   * very start of the content (that CRLF ended the headers), as readMultipartForm sees it. Once the part holds a
   * stray one, only the delimiter is looked for: content made of nothing but `--boundary` (a few KiB compressed)
   * would otherwise cost a visit to every one of its matches. The last bytes are kept and searched with the next
   * chunk, so a delimiter split between chunks is found. The chunk itself is searched where it lies: copying each
   * one behind the kept bytes would double the garbage a large upload leaves for the collector.
   */
  private scanFileContent(chunk: Buffer): Buffer | undefined {
    const c = this.content;
    const tail = c.tail;
    /** The kept bytes and as much of the chunk as a match starting in them can reach. */
    const seam = tail.length > 0 ? Buffer.concat([tail, chunk.subarray(0, this.delimiter.length)]) : tail;
    /** The first match of `pattern` in the kept bytes followed by the chunk, as an offset from the kept bytes' start. */
    const firstMatch = (pattern: Buffer): number => {
      const inSeam = seam.indexOf(pattern);
      if (inSeam !== -1 && inSeam < tail.length) return inSeam;
      const inChunk = chunk.indexOf(pattern);
      return inChunk === -1 ? -1 : tail.length + inChunk;
    };
    const found = firstMatch(this.delimiter);
    // Any `--boundary` before the delimiter's own is stray: one after CRLF would be an earlier delimiter.
    if (!c.stray) {
      const dash = firstMatch(this.dashBoundary);
      c.stray = dash !== -1 && (found === -1 || dash < found + 2);
    }
    if (found !== -1) {
      const end = c.windowStart + found;
      this.setAside.push({ part: this.part, start: c.start, end });
      this.skipped += end - c.start;
      if (c.stray) {
        this.skeleton.append(this.dashBoundary);
        this.skipped -= this.dashBoundary.length;
      }
      this.nextPart(this.skeleton.length + this.delimiter.length);
      return found >= tail.length ? chunk.subarray(found - tail.length) : Buffer.concat([tail.subarray(found), chunk]);
    }
    // Enough to hold all but the last byte of a delimiter that the next chunk completes.
    const keep = this.delimiter.length - 1;
    const length = tail.length + chunk.length;
    c.tail = chunk.length >= keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.concat([tail, chunk]).subarray(Math.max(0, length - keep));
    c.windowStart += length - c.tail.length;
    return undefined;
  }
}

/** A byte buffer that grows by doubling, so appending many chunks copies each byte a few times, not once per chunk. */
class GrowingBuffer {
  private buffer = Buffer.alloc(0);
  length = 0;

  append(chunk: Buffer): void {
    if (this.length + chunk.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.length + chunk.length, this.buffer.length * 2, 4096));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.length);
    this.length += chunk.length;
  }

  truncate(length: number): void {
    this.length = length;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
