import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * A stream over a server-sent-events body that hands each complete event (its blank line included) to
 * `rewrite` and sends what that returns in its place, so events it leaves alone keep their exact bytes.
 * An event is held only up to `maxEventChars`: past that, `onOversizeEvent` decides whether the rest of
 * the stream passes untouched, only that event passes (read again from the next one), or the rest is
 * dropped for a replacement text. An unfinished last event passes as it came at the end (SSE readers do
 * not dispatch it anyway).
 *
 * A byte-order mark opening the stream goes out as it came but is not read as part of the first line: clients
 * decode the stream as UTF-8 with the BOM stripped (TextDecoder, as the MCP SDK and EventSource do), so
 * `\uFEFFdata: …` is a data line to them, and must be one to the subclass too (else a tool list passes unread).
 *
 * Each character is looked at once: an event arriving in many chunks is kept as a list of chunks, and only
 * the new chunk is searched for the blank line that ends it (`scannedChars` counts what was searched). A
 * search over the text held so far, on every chunk, made one 16 MB event block the event loop for minutes.
 */
export abstract class SseEventTransform extends Transform {
  /** The current event's text so far, chunk by chunk (joined once, when it ends). */
  private held: string[] = [];
  private heldChars = 0;
  /** Where the event's bytes now go: held to be read, passed as they come (oversize), or the whole stream passes. */
  private mode: 'read' | 'pass-event' | 'pass-all' = 'read';
  /** Whether the last character seen ended a line (a line break right after it is a blank line). */
  private atLineStart = true;
  /** The last character seen was a CR: an LF right after it belongs to the same line break. */
  private afterCR = false;
  /**
   * The event ended with a CR that was the last character seen: the LF that may follow still belongs to it, so the
   * event is handed on only once the next character is known.
   */
  private endsAtCR = false;
  /** A character split across two chunks is completed before it is read. */
  private readonly decoder = new StringDecoder('utf8');
  /** Set once the stream is stopped: what still has to go out (sent once), then nothing more. */
  private stopText: string | undefined;
  private scanned = 0;
  /** Nothing of the stream decoded yet: a BOM here is no part of the first line. */
  private atStreamStart = true;
  /** The line break the stream last used unambiguously, to end an event cut short in the same style. */
  private lineEnd = '\n';
  /**
   * In 'pass-event', the last character of the passed event that went out (undefined: none went out yet): when the
   * stream is stopped in the middle of it, the client's reader must be brought to an event boundary first.
   */
  private passedTail: string | undefined;

  constructor(private readonly maxEventChars: number) {
    super();
  }

  /** Characters searched for event ends so far: at most each character of the stream once. */
  get scannedChars(): number {
    return this.scanned;
  }

  /** One whole event, blank line included → what the client gets instead. */
  protected abstract rewrite(block: string): string;

  /**
   * An event too large to hold arrived (`head`: what had arrived of it): the rest of the stream passes as it comes
   * ('pass'), this event passes and the next ones are read again ('pass-event'; `onPassedText` sees what passes), or
   * the rest is dropped for `text`.
   */
  protected abstract onOversizeEvent(head: string): { then: 'pass' } | { then: 'pass-event' } | { then: 'drop'; text: string };

  /** Each piece of an event passed unread after 'pass-event' (the subclass may still `stop` the stream). */
  protected onPassedText(_text: string): void {}

  /** Drops the rest of the stream (including anything held), sending `text` instead. */
  protected stop(text: string): void {
    this.stopText = this.endOfPassedEvent() + text;
    this.held = [];
    this.heldChars = 0;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.stopText !== undefined) return callback(null, this.takeStopText());
    // Still through the decoder: a character split at the switch is completed, not mangled (SSE is UTF-8).
    const text = this.decoder.write(chunk);
    if (this.mode === 'pass-all') return callback(null, text.length > 0 ? Buffer.from(text) : undefined);
    const out = this.readStart(text);
    callback(null, out.length > 0 ? Buffer.from(out) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    if (this.stopText !== undefined) return callback(null, this.takeStopText());
    const tail = this.decoder.end();
    let out = this.mode === 'pass-all' ? tail : this.readStart(tail);
    if (this.stopText !== undefined) return callback(null, Buffer.from(out + (this.takeStopText() ?? '')));
    // An event ending in a CR with nothing after it: complete, read as such.
    if (this.endsAtCR) out += this.endEvent('');
    out += this.takeHeld();
    if (this.stopText !== undefined) out += this.takeStopText() ?? '';
    callback(null, out.length > 0 ? Buffer.from(out) : undefined);
  }

  /** readEvents, with a BOM opening the stream sent on unread. */
  private readStart(text: string): string {
    if (!this.atStreamStart || text.length === 0) return this.readEvents(text);
    this.atStreamStart = false;
    return text.startsWith('\uFEFF') ? `\uFEFF${this.readEvents(text.slice(1))}` : this.readEvents(text);
  }

  /** Reads `text` on from the last chunk: what goes out for it now. */
  private readEvents(text: string): string {
    let out = '';
    let from = 0;
    if (this.endsAtCR && text.length > 0) {
      const lf = text[0] === '\n' ? 1 : 0;
      this.scanned += lf;
      this.lineEnd = lf === 1 ? '\r\n' : '\r';
      out += this.endEvent(text.slice(0, lf));
      from = lf;
      this.afterCR = false;
    }
    const lineBreak = /\r\n?|\n/g;
    while (from < text.length && this.stopText === undefined && this.mode !== 'pass-all') {
      lineBreak.lastIndex = from;
      const match = lineBreak.exec(text);
      if (match === null) {
        this.scanned += text.length - from;
        out += this.addToEvent(text.slice(from));
        this.atLineStart = false;
        this.afterCR = false;
        from = text.length;
        break;
      }
      this.scanned += match.index + match[0].length - from;
      const end = match.index + match[0].length;
      // The LF of a CRLF split across chunks: part of the line break already counted.
      if (this.afterCR && match.index === from && from === 0 && match[0] === '\n') {
        this.lineEnd = '\r\n';
        out += this.addToEvent(text.slice(from, end));
        this.afterCR = false;
        from = end;
        continue;
      }
      // A CR ending the chunk may be the first half of a CRLF: not yet known which the stream uses.
      if (match[0] !== '\r' || end < text.length) this.lineEnd = match[0];
      const blank = match.index === from && this.atLineStart;
      this.afterCR = match[0] === '\r';
      this.atLineStart = true;
      if (!blank) {
        out += this.addToEvent(text.slice(from, end));
        from = end;
        continue;
      }
      if (match[0] === '\r' && end === text.length) {
        // The blank line's CR may be the first half of a CRLF: the event ends once the next character is known, also
        // when it passes unread (that LF would otherwise open the next event, and go with it if that one is dropped).
        out += this.addToEvent(text.slice(from, end));
        if (this.stopText === undefined) this.endsAtCR = true;
        from = end;
        break;
      }
      out += this.endEvent(text.slice(from, end));
      from = end;
    }
    if (this.stopText !== undefined) out += this.takeStopText() ?? '';
    else if (this.mode === 'pass-all' && from < text.length) out += text.slice(from);
    return out;
  }

  /** Adds `piece` to the current event: held, or passed on; past the bound, as `onOversizeEvent` says. */
  private addToEvent(piece: string): string {
    if (piece.length === 0) return '';
    if (this.mode === 'pass-event') {
      this.onPassedText(piece);
      if (this.stopText !== undefined) return '';
      this.passedTail = piece[piece.length - 1];
      return piece;
    }
    if (this.mode === 'pass-all') return piece;
    this.held.push(piece);
    this.heldChars += piece.length;
    if (this.heldChars <= this.maxEventChars) return '';
    // Whether it is complete or still arriving, an event this large is not read (nor held).
    const head = this.takeHeld();
    const next = this.onOversizeEvent(head);
    if (next.then === 'drop') {
      this.stop(next.text);
      return '';
    }
    this.mode = next.then === 'pass' ? 'pass-all' : 'pass-event';
    if (next.then === 'pass-event') this.onPassedText(head);
    if (this.stopText !== undefined) return '';
    if (this.mode === 'pass-event') this.passedTail = head[head.length - 1];
    return head;
  }

  /** The current event is complete with `last`: what goes out for it. */
  private endEvent(last: string): string {
    this.endsAtCR = false;
    if (this.mode === 'pass-event') {
      const out = this.addToEvent(last);
      this.mode = 'read';
      this.passedTail = undefined;
      return out;
    }
    const passed = this.addToEvent(last);
    if (this.mode !== 'read' || this.stopText !== undefined) return passed;
    return this.rewrite(this.takeHeld());
  }

  /**
   * What ends the passed event whose first part went out, so that what follows the stop is read as events of its own:
   * the client would otherwise read the stop text as more of that event's data (one unparsable message) and never see
   * it. The event cannot be taken back: it is ended (its line, then a blank line) and reaches the client unparsable, on
   * its own. Nothing when none of it went out, or its blank line has (a CR waiting for a possible LF).
   */
  private endOfPassedEvent(): string {
    if (this.mode !== 'pass-event' || this.passedTail === undefined || this.endsAtCR) return '';
    // After a CR, an LF would only complete that line break: the blank line needs one more.
    if (this.passedTail === '\r') return this.lineEnd === '\r' ? '\r' : `\n${this.lineEnd}`;
    if (this.passedTail === '\n') return this.lineEnd;
    return this.lineEnd + this.lineEnd;
  }

  private takeHeld(): string {
    const text = this.held.length === 1 ? (this.held[0] ?? '') : this.held.join('');
    this.held = [];
    this.heldChars = 0;
    return text;
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
