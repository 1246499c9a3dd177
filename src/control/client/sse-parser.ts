export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * The most characters one event may take before its blank line: the line being read plus the data
 * lines gathered so far. A policy event is a version and an ETag (about 100 characters; the bundle
 * itself is fetched with GET /policy), so 1 MiB leaves room for event types this client does not know
 * yet (it ignores them) while keeping a stream that never ends a line or an event from growing
 * without limit.
 */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/** The stream sent a line or an event larger than the parser's limit; the stream is not usable. */
export class SseEventTooLargeError extends Error {
  constructor(readonly maxEventChars: number) {
    super(`the push stream sent a line or an event longer than ${maxEventChars} characters without ending it (a policy event is about 100); the control server, or a proxy in front of it, is not speaking the Edge Control protocol`);
    this.name = 'SseEventTooLargeError';
  }
}

/**
 * Incremental text/event-stream parser (the WHATWG rules that matter here): lines end in LF, CR or
 * CRLF, possibly split across chunks; `data:` lines join with "\n"; a blank line dispatches; lines
 * starting with ":" are comments (heartbeats), reported so the reader knows the stream is alive.
 * Each chunk is scanned once (only the unfinished line is carried over), and `feed` throws
 * SseEventTooLargeError once an event outgrows `maxEventChars`: the parser is unusable after that,
 * the caller closes the stream.
 */
export class SseParser {
  /** The current line, not yet ended. */
  private line = '';
  private eventName = '';
  private dataLines: string[] = [];
  /** Characters of the current event's data so far, with the "\n" that will join each line. */
  private dataChars = 0;
  private lastId: string | undefined;
  /** The previous chunk ended in CR: an LF starting this one is the second half of CRLF. */
  private pendingCr = false;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onComment: (text: string) => void = () => undefined,
    private readonly maxEventChars: number = MAX_SSE_EVENT_CHARS,
  ) {}

  feed(text: string): void {
    if (text === '') return;
    let start = this.pendingCr && text.startsWith('\n') ? 1 : 0;
    this.pendingCr = false;
    const lineEnd = /\r\n|\r|\n/g;
    lineEnd.lastIndex = start;
    for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
      this.append(text.slice(start, match.index));
      start = match.index + match[0].length;
      if (match[0] === '\r' && start === text.length) this.pendingCr = true;
      const line = this.line;
      this.line = '';
      this.processLine(line);
    }
    this.append(text.slice(start));
  }

  private append(piece: string): void {
    if (this.line.length + piece.length + this.dataChars > this.maxEventChars) throw new SseEventTooLargeError(this.maxEventChars);
    this.line += piece;
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        this.dataChars += value.length + 1;
        break;
      case 'id':
        this.lastId = value;
        break;
      default:
        // `retry` and unknown fields: nothing to do (the client runs its own backoff).
        break;
    }
  }

  private dispatch(): void {
    if (this.dataLines.length > 0) {
      const event: SseEvent = { event: this.eventName || 'message', data: this.dataLines.join('\n') };
      if (this.lastId !== undefined) event.id = this.lastId;
      this.onEvent(event);
    }
    this.eventName = '';
    this.dataLines = [];
    this.dataChars = 0;
  }
}
