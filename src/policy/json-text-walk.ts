import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../util/json-bytes.js';

/**
 * A walk through JSON text that tells its structure from the text inside its strings, without parsing it: how an
 * answer or message too large to parse whole is read for its usage (json-key-scan.ts for an HTTP answer, arriving
 * in chunks; websocket-usage.ts for a WebSocket message, held whole). A quote, bracket or key inside a string is
 * text, not structure: a client's prompt or a model's answer may hold any of them.
 */


/**
 * Where the walk stands is kept between calls, so text that arrives in pieces is walked piece by piece: a string (or
 * an escape in one) cut between two chunks goes on in the next.
 */
export class JsonTextWalk {
  private inString = false;
  private escaped = false;

  /**
   * Walks data[from, to) and tells `visit` of each byte outside strings, and of the quotes that open and close them
   * (so a visitor counting quotes sees where each string ends); stops at the byte `visit` returns true for.
   * Returns that byte's offset, or -1 when the walk reached `to`.
   */
  walk(data: Uint8Array, from: number, to: number, visit: (byte: number, at: number) => boolean | void): number {
    for (let i = from; i < to; i++) {
      const c = data[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (visit(c, i) === true) return i;
        }
        continue;
      }
      if (c === QUOTE) this.inString = true;
      if (visit(c, i) === true) return i;
    }
    return -1;
  }
}

/** +1 for a byte that opens an object or array, -1 for one that closes it, 0 for any other. */
export function bracketDelta(byte: number): 1 | -1 | 0 {
  if (byte === OPEN_BRACE || byte === OPEN_BRACKET) return 1;
  if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) return -1;
  return 0;
}

/**
 * Walks data[from, to) (text held whole) and tells `step` of each `{` / `[` (+1) and `}` / `]` (-1) outside strings,
 * with its offset; stops early when `step` returns true.
 */
export function walkBrackets(data: Uint8Array, from: number, to: number, step: (delta: 1 | -1, at: number) => boolean | void): void {
  new JsonTextWalk().walk(data, from, to, (byte, at) => {
    const delta = bracketDelta(byte);
    return delta !== 0 && step(delta, at) === true;
  });
}
