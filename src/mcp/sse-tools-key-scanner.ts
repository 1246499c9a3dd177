/**
 * Whether one server-sent event, read in pieces as it passes, holds an object key `tools` in its data: for an event
 * larger than Edge reads, which it cannot parse, this decides whether it may carry a tool list (and the stream must
 * end) or passes unread. A key is the JSON string before a `:`, with its escapes decoded, since that is what a client
 * parsing the event reads: `"\u0074ools"` is `tools`, while an escape in ordinary text (`\u00e9`) is not a reason to
 * end the stream. A string value "tools" is no key.
 *
 * The event is read as an SSE reader reads it: only `data` lines count, without their field name and first space, and
 * joined by a line break (other fields and comments may hold quotes that are no part of the JSON). Bounded: it keeps a
 * few characters of state whatever the event's size, and searches natively for the next quote or line break where
 * nothing in between can matter (an escaped quote is told by the backslashes right before it), so a large event costs
 * a few passes over its text, never one per chunk or per escape.
 */
export class SseToolsKeyScanner {
  /** Where the current line is: its field name so far, the space after `data:`, a data value, another field. */
  private line: 'field' | 'value-start' | 'data' | 'other' = 'field';
  private field = '';
  /** The last character was a CR: an LF right after it ends the same line. */
  private afterCR = false;
  /** Where the JSON of the data is: outside strings, in one, after its backslash, in a `\u` escape. */
  private json: 'out' | 'string' | 'escape' | 'hex' = 'out';
  /** The string being read decodes to `decoded` so far, a prefix of "tools"; once not, only its end matters. */
  private candidate = false;
  private decoded = '';
  private hex = '';
  /** A string that decoded to "tools" has just ended: a `:` after it (whitespace aside) makes it a key. */
  private afterTools = false;
  private found = false;

  /** Reads the next piece of the event; true once a `tools` key has been seen in it (and from then on). */
  feed(text: string): boolean {
    let i = 0;
    while (i < text.length && !this.found) {
      const c = text[i];
      if (this.afterCR) {
        this.afterCR = false;
        if (c === '\n') {
          i++;
          continue;
        }
      }
      if (c === '\r' || c === '\n') {
        this.endLine();
        this.afterCR = c === '\r';
        i++;
        continue;
      }
      i = this.readLine(text, i, nextIndex(LINE_BREAK, text, i));
    }
    return this.found;
  }

  /** Reads `text` from `i` to `end`, where its line breaks next (or the piece ends); returns `end`. */
  private readLine(text: string, i: number, end: number): number {
    while (i < end) {
      if (this.line === 'other') return end;
      if (this.line === 'data') return this.readJson(text, i, end);
      if (this.line === 'value-start') {
        this.line = 'data';
        if (text[i] === ' ') i++;
        continue;
      }
      const c = text[i++];
      if (c === ':') {
        this.line = this.field === 'data' ? 'value-start' : 'other';
      } else {
        this.field += c;
        if (!'data'.startsWith(this.field)) this.line = 'other';
      }
    }
    return end;
  }

  private endLine(): void {
    // `data` alone is a data line with an empty value.
    const dataLine = this.line === 'data' || this.line === 'value-start' || (this.line === 'field' && this.field === 'data');
    if (dataLine) this.joinDataLines();
    this.line = 'field';
    this.field = '';
  }

  /** The line break a reader puts between two data lines: whitespace between tokens, an invalid character in a string. */
  private joinDataLines(): void {
    if (this.json === 'out') return;
    this.candidate = false;
    this.json = 'string';
  }

  /** Reads JSON text from `i` to `end` (no line break in it); returns `end`. */
  private readJson(text: string, i: number, end: number): number {
    while (i < end && !this.found) {
      const c = text[i] ?? '';
      if (this.json === 'out') {
        if (this.afterTools) {
          if (c === ' ' || c === '\t') {
            i++;
            continue;
          }
          this.afterTools = false;
          if (c === ':') {
            this.found = true;
            break;
          }
        }
        if (c === '"') {
          this.json = 'string';
          this.candidate = true;
          this.decoded = '';
          i++;
        } else {
          i = nextIndex(QUOTE, text, i + 1);
        }
      } else if (this.json === 'string') {
        if (c === '"') {
          this.afterTools = this.candidate && this.decoded === 'tools';
          this.json = 'out';
          i++;
        } else if (!this.candidate) {
          i = this.skipStringBody(text, i, end);
        } else if (c === '\\') {
          this.json = 'escape';
          i++;
        } else {
          this.take(c);
          i++;
        }
      } else if (this.json === 'escape') {
        if (c === 'u' && this.candidate) {
          this.json = 'hex';
          this.hex = '';
        } else {
          // \" \\ \/ \b \f \n \r \t: none of them is a letter of "tools" (nor, in no candidate, is anything decoded).
          this.candidate = false;
          this.json = 'string';
        }
        i++;
      } else if (isHexDigit(c)) {
        this.hex += c;
        i++;
        if (this.hex.length === 4) {
          if (this.candidate) this.take(String.fromCharCode(Number.parseInt(this.hex, 16)));
          this.json = 'string';
        }
      } else {
        // Not JSON (no parser reads this string), so not a key: read on as the string's next character.
        this.candidate = false;
        this.json = 'string';
      }
    }
    return end;
  }

  /**
   * Passes over a string no longer spelling "tools" from `i` (not at a quote) to its closing quote, or to `end`: its
   * escapes are not decoded, only counted (a quote after an odd run of backslashes is escaped; a `\u` escape's hex
   * digits are neither). Each character is looked at a bounded number of times: runs are counted back to a quote.
   */
  private skipStringBody(text: string, i: number, end: number): number {
    let from = i;
    for (;;) {
      const quote = nextIndex(QUOTE, text, from);
      const run = backslashesBefore(text, quote, i);
      if (quote === end) {
        // The piece or line ends inside the string, maybe on a backslash whose escaped character comes next.
        if (run % 2 === 1) this.json = 'escape';
        return end;
      }
      if (run % 2 === 0) return quote;
      from = quote + 1;
    }
  }

  private take(c: string): void {
    this.decoded += c;
    this.candidate = this.decoded.length <= TOOLS.length && TOOLS.startsWith(this.decoded);
  }
}

const TOOLS = 'tools';
const LINE_BREAK = /[\r\n]/g;
/** A quote, or the line's end (the search never runs past the line it started in). */
const QUOTE = /["\r\n]/g;

/** Where `pattern` next matches in `text` from `from`, or the text's length. */
function nextIndex(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  const match = pattern.exec(text);
  return match === null ? text.length : match.index;
}

/** How many backslashes come right before `at`, counted back no further than `floor`. */
function backslashesBefore(text: string, at: number, floor: number): number {
  let k = at;
  while (k > floor && text[k - 1] === '\\') k--;
  return at - k;
}

function isHexDigit(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
