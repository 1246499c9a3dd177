/**
 * Spans that are themselves JSON (tool-call arguments, JSON tool results) hold their strings encoded: a value at
 * the start of a line follows the two characters `\n`, and `<` may be written `\u003c`. Detectors that need a
 * boundary before a value do not see one there, and a redaction starting inside an escape breaks the JSON.
 *
 * So such a span is scanned as a decoded view: the same JSON text with every string escape replaced by the
 * character it stands for (keys stay next to their values, so `"api_key": "…"` rules still work), plus the
 * raw range each decoded character came from. Findings map back to whole escapes, and a redaction marker
 * (`[REDACTED:…]`, no quote or backslash) dropped over them leaves valid JSON.
 */

export interface DecodedJsonView {
  /** The JSON text with its string escapes decoded. */
  text: string;
  /** Maps a `[start, end)` range of `text` to the range of the raw span it was decoded from. */
  toRaw(start: number, end: number): [number, number];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };

/** The decoded view of a JSON object or array that contains escapes; undefined for anything else. */
export function decodedJsonView(raw: string): DecodedJsonView | undefined {
  if (!raw.includes('\\') || !/^\s*[[{]/.test(raw)) return undefined;
  try {
    JSON.parse(raw);
  } catch {
    return undefined;
  }
  const pieces: string[] = [];
  // rawAt[i]: where decoded character i starts in the raw text; decoded characters are contiguous in the raw
  // text, so character i ends where i + 1 starts (rawAt[length] is the raw length).
  const rawAt = new Int32Array(raw.length + 1);
  let decodedLength = 0;
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < raw.length; ) {
    const code = raw.charCodeAt(i);
    if (code === QUOTE) inString = !inString;
    if (!inString || code !== BACKSLASH) {
      rawAt[decodedLength++] = i++;
      continue;
    }
    const kind = raw[i + 1]!;
    const width = kind === 'u' ? 6 : 2;
    pieces.push(raw.slice(runStart, i), kind === 'u' ? String.fromCharCode(parseInt(raw.slice(i + 2, i + 6), 16)) : (SIMPLE_ESCAPES[kind] ?? kind));
    rawAt[decodedLength++] = i;
    i += width;
    runStart = i;
  }
  pieces.push(raw.slice(runStart));
  rawAt[decodedLength] = raw.length;
  return {
    text: pieces.join(''),
    toRaw: (start, end) => [rawAt[start]!, rawAt[Math.max(start, end)]!],
  };
}
