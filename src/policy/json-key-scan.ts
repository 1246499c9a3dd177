import { bracketDelta, JsonTextWalk } from './json-text-walk.js';
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../util/json-bytes.js';

/**
 * Reads chosen keys of a JSON text of any size as it arrives, holding only their values: how an answer too large to
 * parse whole (a completion with logprobs, an embeddings batch, generated images) is still read for its usage, model
 * and state (usage.ts). The keys are read where JSON.parse would put them, in the document itself, never in an item
 * of it: a `usage` inside a choice, a batch's result or a tool's output is not the answer's. What is read is what
 * JSON.parse of the whole text would give for those keys (the last of duplicates wins), save a value larger than
 * MAX_KEPT_VALUE_BYTES, which is left out. The text is checked for its structure only (brackets, strings, keys, commas);
 * a value not kept is walked past unchecked.
 */

/**
 * The keys read of an object: each one's value kept whole (`true`), or, for an object value, read in turn for its own
 * chosen keys (a Responses event's `response`, a message_start's `message`).
 */
export interface KeyChoice {
  readonly [key: string]: true | KeyChoice;
}

/** What was read of one object: its chosen keys that it has, with their values. */
export type KeysRead = Record<string, unknown>;

/** A value kept larger than this is left out (a usage report, a model name or an id is a few hundred bytes). */
export const MAX_KEPT_VALUE_BYTES = 64 * 1024;
/** A key longer than this is none of the chosen ones, which are short names. */
const MAX_KEY_BYTES = 256;


function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A byte of a number, `true`, `false` or `null`. */
function isScalarByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || byte === 0x2d || byte === 0x2b || byte === 0x2e;
}

function startsValue(byte: number): boolean {
  return byte === QUOTE || byte === OPEN_BRACE || byte === OPEN_BRACKET || isScalarByte(byte);
}

/** One value (or key) read to its end, from its first byte: its text kept up to a bound, or only walked past. */
class ValueRead {
  private readonly walk = new JsonTextWalk();
  private kind: 'string' | 'container' | 'scalar' | undefined;
  private nesting = 0;
  private quotes = 0;
  private kept: Buffer[] | undefined;
  private keptBytes = 0;

  constructor(private readonly keepBytes: number) {
    if (keepBytes > 0) this.kept = [];
  }

  /** Reads data[from, to); the offset just past the value, or -1 when it goes on in the next chunk. */
  read(data: Uint8Array, from: number, to: number): number {
    this.kind ??= data[from] === QUOTE ? 'string' : bracketDelta(data[from]!) === 1 ? 'container' : 'scalar';
    const end = this.kind === 'scalar' ? scalarEnd(data, from, to) : this.walkToEnd(data, from, to);
    this.keep(data.subarray(from, end < 0 ? to : end));
    return end;
  }

  /** The value's text, or undefined when it was not kept or was too large to keep. */
  text(): string | undefined {
    return this.kept && Buffer.concat(this.kept).toString('utf8');
  }

  private walkToEnd(data: Uint8Array, from: number, to: number): number {
    const last = this.walk.walk(data, from, to, (byte) => {
      if (this.kind === 'string') return byte === QUOTE && ++this.quotes === 2;
      this.nesting += bracketDelta(byte);
      return this.nesting === 0;
    });
    return last < 0 ? -1 : last + 1;
  }

  private keep(bytes: Uint8Array): void {
    if (!this.kept) return;
    this.keptBytes += bytes.byteLength;
    // A copy: a chunk of the answer is not held past its relay for the few bytes read of it.
    if (this.keptBytes <= this.keepBytes) this.kept.push(Buffer.from(bytes));
    else this.kept = undefined;
  }
}

function scalarEnd(data: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (!isScalarByte(data[i]!)) return i;
  return -1;
}

/** An object or array the scan stands in, with what was read of it so far. */
interface Frame {
  /** An object (keys and values), or the array of documents a Gemini JSON-array stream is. */
  readonly isObject: boolean;
  /** The keys read of this object, or of each document in this array. */
  readonly choice: KeyChoice;
  readonly read: KeysRead;
  /** A document (the text's object, or one of its array's): told to onDocument when closed. */
  readonly document: boolean;
  /** The key this object is the value of, in the object enclosing it. */
  readonly parentKey?: string;
  /** first: just opened; key / value: one is expected next; colon: after a key; next: after a value (`,` or the end). */
  state: 'first' | 'key' | 'colon' | 'value' | 'next';
  key?: string;
}

/**
 * The scan of one JSON text: `onDocument` gets what was read of each document as it closes, the text's object or
 * each object of its array (a Gemini JSON-array stream's chunks, as usage.ts reads them). Memory is bounded by the
 * chosen keys, whatever the text's size or depth: a value not read is walked past, counting its brackets.
 */
export class JsonKeyScan {
  private readonly frames: Frame[] = [];
  private value: { read: ValueRead; role: 'key' | 'kept' | 'skipped' } | undefined;
  private rootRead = false;
  private broken = false;

  constructor(private readonly choice: KeyChoice, private readonly onDocument: (read: KeysRead) => void) {}

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.broken) {
      if (this.value) {
        const end = this.value.read.read(chunk, i, chunk.length);
        if (end < 0) return;
        i = end;
        this.valueRead();
      } else if (isWhitespace(chunk[i]!) || this.structure(chunk[i]!)) {
        i++;
      }
    }
  }

  /** The text ended: whether it was one whole JSON value (JSON.parse would have read it; its documents count). */
  end(): boolean {
    return !this.broken && this.rootRead && this.value === undefined;
  }

  /** Takes one byte outside any value read; false when it starts a value, read from that byte. */
  private structure(byte: number): boolean {
    const frame = this.frames.at(-1);
    if (!frame) {
      if (this.rootRead) return this.fail();
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) return this.open({ isObject: byte === OPEN_BRACE, choice: this.choice, read: {}, document: byte === OPEN_BRACE, state: 'first' });
      return this.startValue(byte, 'skipped');
    }
    const closer = frame.isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    if ((frame.state === 'first' || frame.state === 'next') && byte === closer) return this.close();
    if (frame.state === 'next') {
      if (byte !== COMMA) return this.fail();
      frame.state = frame.isObject ? 'key' : 'value';
      return true;
    }
    if (!frame.isObject) {
      frame.state = 'next';
      if (byte === OPEN_BRACE) return this.open({ isObject: true, choice: frame.choice, read: {}, document: true, state: 'first' });
      return this.startValue(byte, 'skipped');
    }
    if (frame.state === 'first' || frame.state === 'key') return byte === QUOTE ? this.startValue(byte, 'key') : this.fail();
    if (frame.state === 'colon') {
      if (byte !== COLON) return this.fail();
      frame.state = 'value';
      return true;
    }
    return this.valueStarts(frame, byte);
  }

  /** A value of an object's key starts: kept, read for its own keys, or walked past. */
  private valueStarts(frame: Frame, byte: number): boolean {
    frame.state = 'next';
    const key = frame.key;
    const chosen = key !== undefined && Object.hasOwn(frame.choice, key) ? frame.choice[key] : undefined;
    if (chosen === undefined || key === undefined) return this.startValue(byte, 'skipped');
    // A later duplicate replaces an earlier one (as in JSON.parse), even when it is left out.
    delete frame.read[key];
    if (chosen === true) return this.startValue(byte, 'kept');
    if (byte === OPEN_BRACE) return this.open({ isObject: true, choice: chosen, read: {}, document: false, parentKey: key, state: 'first' });
    return this.startValue(byte, 'skipped');
  }

  private open(frame: Frame): boolean {
    this.frames.push(frame);
    return true;
  }

  private close(): boolean {
    const frame = this.frames.pop()!;
    const parent = this.frames.at(-1);
    if (frame.document) this.onDocument(frame.read);
    else if (parent && frame.parentKey !== undefined) parent.read[frame.parentKey] = frame.read;
    if (!parent) this.rootRead = true;
    return true;
  }

  private startValue(byte: number, role: 'key' | 'kept' | 'skipped'): boolean {
    if (!startsValue(byte)) return this.fail();
    this.value = { read: new ValueRead(role === 'kept' ? MAX_KEPT_VALUE_BYTES : role === 'key' ? MAX_KEY_BYTES : 0), role };
    return false;
  }

  private valueRead(): void {
    const { read, role } = this.value!;
    this.value = undefined;
    const frame = this.frames.at(-1);
    if (!frame) {
      this.rootRead = true;
      return;
    }
    if (role === 'skipped') return;
    const text = read.text();
    try {
      if (role === 'key') {
        frame.key = text === undefined ? undefined : (JSON.parse(text) as string);
        frame.state = 'colon';
      } else if (text !== undefined && frame.key !== undefined) {
        frame.read[frame.key] = JSON.parse(text) as unknown;
      }
    } catch {
      this.fail();
    }
  }

  private fail(): boolean {
    this.broken = true;
    return true;
  }
}
