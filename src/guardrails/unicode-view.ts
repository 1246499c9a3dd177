/**
 * Text copied from PDFs, Word and web pages writes `4532 0151 …` with no-break or thin spaces, full-width
 * digits, or a zero-width space inside a token (sometimes to slip past a filter). Detectors are written for
 * ASCII separators and digits, so such text is scanned as a normalised view: NFKC per character (full-width
 * `４` → `4`), every Unicode space → ` `, format characters (zero-width space, joiners, soft hyphen, BOM)
 * dropped. Each view character remembers the raw range it came from, so findings and redactions land on the
 * original text, covering any dropped characters inside them.
 */

export interface TextView {
  /** The text the detectors scan. */
  text: string;
  /** Maps a `[start, end)` range of `text` to the range of the original it came from. */
  toRaw(start: number, end: number): [number, number];
}

const NON_ASCII = /[^\p{ASCII}]/u;
/** Unicode spaces other than ` ` (Zs), line/paragraph separators and format characters (Cf). */
const SPACE_OR_FORMAT = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029\p{Cf}]/u;
const SPACE = /^[\p{Zs}\u2028\u2029]$/u;
const FORMAT = /^\p{Cf}$/u;

/** Normalised forms already computed, by character: real texts repeat few distinct non-ASCII characters. */
const normalisedChars = new Map<string, string>();

/** The normalised view of `raw`, or undefined when normalising changes nothing. */
export function unicodeView(raw: string): TextView | undefined {
  if (!NON_ASCII.test(raw) || !(SPACE_OR_FORMAT.test(raw) || raw.normalize('NFKC') !== raw)) return undefined;
  const pieces: string[] = [];
  // For view character i: rawStart[i] / rawEnd[i] is the raw character (code point) it came from. The view is
  // never longer than the raw text: a character is kept, replaced by one, or dropped.
  const rawStart = new Int32Array(raw.length + 1);
  const rawEnd = new Int32Array(raw.length + 1);
  let length = 0;
  let runStart = 0;
  for (let i = 0; i < raw.length; ) {
    const code = raw.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    const char = code < 0x80 ? '' : raw.slice(i, i + width);
    const out = code < 0x80 ? undefined : normaliseChar(char);
    if (out !== undefined && out !== char) {
      // Unchanged characters are copied in runs; only a changed one breaks the run.
      pieces.push(raw.slice(runStart, i), out);
      runStart = i + width;
    }
    const produced = out === undefined ? 1 : out.length;
    for (let k = 0; k < produced; k++, length++) {
      rawStart[length] = i;
      rawEnd[length] = i + width;
    }
    i += width;
  }
  pieces.push(raw.slice(runStart));
  rawStart[length] = raw.length;
  // A dropped character between two view characters belongs to the range of a finding spanning both.
  return {
    text: pieces.join(''),
    toRaw: (start, end) => (end > start ? [rawStart[start]!, rawEnd[end - 1]!] : [rawStart[start]!, rawStart[start]!]),
  };
}

function normaliseChar(char: string): string {
  let out = normalisedChars.get(char);
  if (out === undefined) {
    out = SPACE.test(char) ? ' ' : FORMAT.test(char) ? '' : char.normalize('NFKC');
    // NFKC can expand one character to several (`ﬁ` → `fi`, `㎒` → `MHz`): those stay as they are, so the
    // view is never longer than the text and each view character comes from exactly one raw character.
    if (out.length > char.length) out = char;
    if (normalisedChars.size < 4096) normalisedChars.set(char, out);
  }
  return out;
}

/** A view of a view: ranges map through `inner` first, then `outer` (the one closer to the raw text). */
export function composeViews(outer: TextView, inner: TextView): TextView {
  return { text: inner.text, toRaw: (start, end) => outer.toRaw(...inner.toRaw(start, end)) };
}
