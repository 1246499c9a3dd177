import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * A stream over a server-sent-events body that hands each complete event (its blank line included) to
 * `rewrite` and sends what that returns in its place, so events it leaves alone keep their exact bytes.
 * An event is held only up to `maxEventChars`: past that, `onOversizeEvent` decides whether the rest of
 * the stream passes untouched or is dropped for a replacement text. An unfinished last event passes as
 * it came at the end (SSE readers do not dispatch it anyway).
 */
export abstract class SseEventTransform extends Transform {
  private pending = '';
  /** A character split across two chunks is completed before it is read. */
  private readonly decoder = new StringDecoder('utf8');
  /**
   * Where in `pending` the search for the end of the event resumes: the start of the line still
   * arriving. An event that comes in many chunks is then scanned once, not once per chunk.
   */
  private scanFrom = 0;
  /** Set once the stream is stopped: what still has to go out (sent once), then nothing more. */
  private stopText: string | undefined;
  /** Set once an oversize event made the rest pass untouched. */
  private passing = false;

  constructor(private readonly maxEventChars: number) {
    super();
  }

  /** One whole event, blank line included → what the client gets instead. */
  protected abstract rewrite(block: string): string;

  /** An event too large to hold arrived: the rest passes as it comes, or is dropped for `text`. */
  protected abstract onOversizeEvent(): { then: 'pass' } | { then: 'drop'; text: string };

  /** Drops the rest of the stream (including anything held), sending `text` instead. */
  protected stop(text: string): void {
    this.stopText = text;
    this.pending = '';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.stopText !== undefined) return callback(null, this.takeStopText());
    // Still through the decoder: a character split at the switch is completed, not mangled (SSE is UTF-8).
    if (this.passing) return callback(null, Buffer.from(this.decoder.write(chunk)));
    this.pending += this.decoder.write(chunk);
    let out = '';
    let end = this.nextEventEnd();
    while (end >= 0 && end <= this.maxEventChars) {
      out += this.rewrite(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
      this.scanFrom = 0;
      end = this.nextEventEnd();
    }
    // Whether it is complete or still arriving, an event this large is not read (nor held).
    if ((end < 0 ? this.pending.length : end) > this.maxEventChars) {
      const next = this.onOversizeEvent();
      if (next.then === 'pass') {
        // What is held goes out as it came (a partial character stays in the decoder for the next bytes).
        out += this.pending;
        this.pending = '';
        this.passing = true;
        return callback(null, Buffer.from(out));
      }
      this.stop(next.text);
      out += this.takeStopText() ?? '';
    }
    callback(null, out.length > 0 ? Buffer.from(out) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    if (this.stopText !== undefined) return callback(null, this.takeStopText());
    if (this.passing) {
      const tail = this.decoder.end();
      return callback(null, tail.length > 0 ? Buffer.from(tail) : undefined);
    }
    this.pending += this.decoder.end();
    callback(null, this.pending.length > 0 ? Buffer.from(this.pending) : undefined);
  }

  /** Where the first complete event of `pending` ends (just past its blank line), or -1. */
  private nextEventEnd(): number {
    const found = eventEnd(this.pending, this.scanFrom);
    if (found.end < 0) this.scanFrom = found.lineStart;
    return found.end;
  }

  private takeStopText(): string | undefined {
    const text = this.stopText;
    this.stopText = '';
    return text ? text : undefined;
  }
}

/** The data of an event (its `data:` lines joined), or undefined when it has none. */
export function eventData(block: string): string | undefined {
  const data = block.split(/\r\n|\r|\n/).filter((line) => line === 'data' || line.startsWith('data:')).map((line) => line.slice(5).replace(/^ /, ''));
  return data.length > 0 ? data.join('\n') : undefined;
}

/**
 * Where the first complete event of `text` ends (just past its blank line), or -1, scanning from `from`
 * (a line start); `lineStart` is where the last, unfinished line begins. A CR at the very end may be
 * the first half of a CRLF, so it does not end anything yet.
 */
function eventEnd(text: string, from = 0): { end: number; lineStart: number } {
  const lineBreak = /\r\n|\r|\n/g;
  lineBreak.lastIndex = from;
  let lineStart = from;
  for (let match = lineBreak.exec(text); match; match = lineBreak.exec(text)) {
    if (match[0] === '\r' && match.index === text.length - 1) return { end: -1, lineStart };
    const end = match.index + match[0].length;
    if (match.index === lineStart) return { end, lineStart };
    lineStart = end;
  }
  return { end: -1, lineStart };
}
