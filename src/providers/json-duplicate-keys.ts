import type { JsonPath } from './extraction.js';
import { BACKSLASH, CLOSE_BRACE as CLOSE_OBJECT, CLOSE_BRACKET as CLOSE_ARRAY, COMMA, OPEN_BRACE as OPEN_OBJECT, OPEN_BRACKET as OPEN_ARRAY, QUOTE } from '../util/json-bytes.js';

/**
 * Object keys that occur twice in one object of a JSON text.
 *
 * JSON.parse keeps the last of two equal keys and says nothing. Go's encoding/json (the Bifrost gateway, sonic
 * alike, and Go MCP servers) keeps the last too for strings and arrays, but decodes a second object INTO the first
 * (struct fields and map entries merge). So `"systemInstruction": {"parts": [secret]}, "systemInstruction":
 * {"role": "system"}` is a system instruction without text to Edge and one with the secret to the gateway; other
 * readers keep the first. A body with a repeated key means different things to different readers, so it is
 * refused wherever the key sits, free-form maps included. JSON.parse cannot see repeats, hence this one pass over
 * the text.
 *
 * Keys are compared as every parser reads them: after unescaping (`"a"` and `"\u0061"` are one key), and with lone
 * surrogates read as U+FFFD, as Go does (`"\ud800"` and `"\udfff"` are one key to it).
 */

/** A key an object of the body holds twice: the path of that object, and the key as parsers read it. */
export interface DuplicateKey {
  path: JsonPath;
  key: string;
}


/** Up to this many keys an object's keys are compared one by one (no allocation); past it, a Set is built. */
const LINEAR_SEARCH_KEYS = 12;

/**
 * The first repeated key of a JSON text, in document order, or undefined. `text` must be JSON that JSON.parse
 * accepted (without a byte-order mark): the scan relies on that and checks nothing else.
 *
 * One pass: structural characters are read with charCodeAt, strings are jumped over with indexOf (the bulk of a
 * prompt is string content), and only keys are sliced out. Nesting is kept on explicit stacks, so depth costs no
 * call stack.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // A body that is a string, number or literal holds no object.
  const first = firstNonSpace(text);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return undefined;

  // Per open container (index = depth): object or array, the keys an object has shown so far (a Set once it
  // has many), and where the scan is inside it (the object's last key, the array's element index), for the path.
  const isObject: boolean[] = [];
  const keysSeen: string[][] = [];
  const keySets: Array<Set<string> | undefined> = [];
  const lastKey: string[] = [];
  const index: number[] = [];
  let depth = -1;
  // True right after `{` or a comma in an object: the next string is a key.
  let expectKey = false;

  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const end = closingQuote(text, i);
      if (expectKey) {
        expectKey = false;
        const key = readKey(text, i, end);
        if (sawKey(keysSeen[depth]!, keySets, depth, key)) return { path: pathAt(isObject, lastKey, index, depth), key };
        lastKey[depth] = key;
      }
      i = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth++;
      const object = code === OPEN_OBJECT;
      isObject[depth] = object;
      index[depth] = 0;
      if (object) {
        // The arrays are kept per depth and reused: a body of many small objects allocates no new ones.
        const keys = keysSeen[depth];
        if (keys === undefined) keysSeen[depth] = [];
        else keys.length = 0;
        keySets[depth] = undefined;
      }
      expectKey = object;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
      expectKey = false;
    } else if (code === COMMA) {
      if (isObject[depth]) expectKey = true;
      else index[depth]!++;
    }
    // Anything else (white space, `:`, numbers, true/false/null) needs no attention in valid JSON.
  }
  return undefined;
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return code;
  }
  return -1;
}

/** The index of the quote that closes the string opening at `open`: the next quote not escaped by a backslash. */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    // An even run of backslashes escapes itself, not the quote.
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** The key between the quotes at `open` and `end`, as a parser reads it. */
function readKey(text: string, open: number, end: number): string {
  const raw = text.slice(open + 1, end);
  if (raw.indexOf('\\') === -1) return raw;
  // Text decoded from UTF-8 holds no lone surrogate: only an escape can make one.
  return withLoneSurrogatesReplaced(JSON.parse(text.slice(open, end + 1)) as string);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Go decodes an escaped lone surrogate as U+FFFD, so `"\ud800"` and `"\udc00"` name one key to it. */
function withLoneSurrogatesReplaced(key: string): string {
  return key.replace(LONE_SURROGATE, '\ufffd');
}

/** Records `key` among the keys of the object at `depth`; true when the object had it already. */
function sawKey(keys: string[], keySets: Array<Set<string> | undefined>, depth: number, key: string): boolean {
  const set = keySets[depth];
  if (set !== undefined) {
    if (set.has(key)) return true;
    set.add(key);
    return false;
  }
  for (let k = 0; k < keys.length; k++) if (keys[k] === key) return true;
  keys.push(key);
  if (keys.length > LINEAR_SEARCH_KEYS) keySets[depth] = new Set(keys);
  return false;
}

/** The path of the object open at `depth`: each enclosing object's current key, each array's element index. */
function pathAt(isObject: readonly boolean[], lastKey: readonly string[], index: readonly number[], depth: number): JsonPath {
  const path: JsonPath = [];
  for (let d = 0; d < depth; d++) path.push(isObject[d] ? lastKey[d]! : index[d]!);
  return path;
}
