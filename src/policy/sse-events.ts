/**
 * An incremental server-sent-events parser (WHATWG HTML §9.2.6) for reading usage out of a response
 * while it streams to the client. It holds at most the current line and the current event's data: once
 * an event is dispatched, nothing of it is kept. Line ends may be LF, CR or CRLF and may be split across
 * chunks (a CR at the end of one chunk and the LF at the start of the next are one line end); UTF-8
 * characters split across chunks are decoded whole.
 */

export interface SseEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  data: string;
}

export interface SseParserOptions {
  /** An event larger than this is skipped (its data is dropped as it arrives). Default 4 MiB. */
  maxEventChars?: number;
}

export class SseEventParser {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly maxEventChars: number;
  private line = '';
  private lastWasCr = false;
  private eventName = '';
  private data: string[] = [];
  private dataChars = 0;
  private oversized = false;
  /** The current line was cut off for size: at its end it is a (skipped) field line, never a blank one. */
  private lineDropped = false;

  constructor(private readonly onEvent: (event: SseEvent) => void, options: SseParserOptions = {}) {
    this.maxEventChars = options.maxEventChars ?? 4 * 1024 * 1024;
  }

  push(chunk: Uint8Array | string): void {
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
  }

  /** End of stream: a final event without its blank line is dropped, as the spec says. */
  end(): void {
    this.feed(this.decoder.decode());
    this.line = '';
    this.lineDropped = false;
    this.resetEvent();
  }

  private feed(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      if (ch === 10 && this.lastWasCr && i === start && this.line === '') {
        // The LF of a CRLF whose CR ended the previous piece of text.
        this.lastWasCr = false;
        start = i + 1;
        continue;
      }
      this.appendToLine(text.slice(start, i));
      if (!this.lineDropped) this.processLine(this.line);
      this.line = '';
      this.lineDropped = false;
      this.lastWasCr = ch === 13;
      if (ch === 13 && text.charCodeAt(i + 1) === 10) {
        i++;
        this.lastWasCr = false;
      }
      start = i + 1;
    }
    if (start < text.length) {
      this.appendToLine(text.slice(start));
      this.lastWasCr = false;
    }
  }

  private appendToLine(piece: string): void {
    if (this.lineDropped) return;
    if (this.line.length + piece.length + this.dataChars > this.maxEventChars) {
      this.oversized = true;
      this.lineDropped = true;
      this.line = '';
      this.data = [];
      this.dataChars = 0;
      return;
    }
    this.line += piece;
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (this.oversized || line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length + 1;
    }
  }

  private dispatch(): void {
    const skip = this.oversized || this.data.length === 0;
    const event: SseEvent = { event: this.eventName || 'message', data: this.data.join('\n') };
    this.resetEvent();
    if (!skip) this.onEvent(event);
  }

  private resetEvent(): void {
    this.eventName = '';
    this.data = [];
    this.dataChars = 0;
    this.oversized = false;
  }
}
