/**
 * Administrator-written regexes run on RE2 (the pure-JavaScript `re2js` port), not on V8's backtracking
 * engine: matching time grows linearly with the text whatever the pattern, so no custom rule can stall the
 * proxy or hang policy compilation, and nothing has to guess which patterns are safe.
 *
 * Patterns are written as JavaScript regex source (no slashes). Most of that syntax is RE2 syntax too;
 * `\uXXXX` / `\u{X}` escapes are translated. What RE2 cannot do in linear time (lookahead, backreferences,
 * capture groups inside lookbehind, repeat counts over 1000) is refused with an error that says how to rewrite.
 */
import { RE2JS } from 're2js';

export interface LinearPattern {
  /** Start and end (UTF-16 offsets, end exclusive) of each non-empty match, left to right, at most `limit`. */
  matchSpans(text: string, limit: number): Array<[number, number]>;
}

export type LinearPatternCompilation =
  | { ok: true; pattern: LinearPattern; /** True for patterns like `a*` that match nothing at all. */ matchesEmptyText: boolean }
  | { ok: false; error: string };

/**
 * Work per character of text grows with the compiled program, so a bound keeps a 2 MB prompt affordable.
 * A 1000-instruction program is already a 1000-way repetition or a list of ~100 alternatives.
 */
const MAX_PROGRAM_INSTRUCTIONS = 1000;

const FLAG_BITS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0 };

/** `flags`: any of i, m, s, u (RE2 always matches Unicode code points, so `u` changes nothing). */
export function compileLinearPattern(source: string, flags: string): LinearPatternCompilation {
  let engineFlags = RE2JS.LOOKBEHINDS;
  for (const flag of flags) engineFlags |= FLAG_BITS[flag] ?? 0;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(toRe2Syntax(source), engineFlags);
  } catch (error) {
    return { ok: false, error: explainSyntaxError(source, (error as Error).message) };
  }
  const size = compiled.re2().numberOfInstructions();
  if (size > MAX_PROGRAM_INSTRUCTIONS) {
    return {
      ok: false,
      error:
        `pattern is too large (${size} engine instructions, at most ${MAX_PROGRAM_INSTRUCTIONS}); use smaller repeat ` +
        'counts ({1,64} rather than {1,900}), fewer alternatives, or a "keywords" rule for a list of words',
    };
  }
  return { ok: true, pattern: new Re2Pattern(compiled), matchesEmptyText: compiled.test('') };
}

class Re2Pattern implements LinearPattern {
  constructor(private readonly compiled: RE2JS) {}

  matchSpans(text: string, limit: number): Array<[number, number]> {
    // One capture-free pass (RE2's DFA) answers "any match?" several times faster than locating matches,
    // and nearly every prompt has none.
    if (!this.compiled.test(text)) return [];
    const spans: Array<[number, number]> = [];
    const matcher = this.compiled.matcher(text);
    while (spans.length < limit && matcher.find()) {
      const start = matcher.start();
      const end = matcher.end();
      if (end > start) spans.push([start, end]);
    }
    return spans;
  }
}

/**
 * JavaScript spellings RE2 does not accept, rewritten to RE2's: `\u0041` and `\u{1F600}` become `\x{...}`.
 * Walks escape by escape, so `\\u0041` (an escaped backslash, then `u0041`) is left alone.
 */
export function toRe2Syntax(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = source[i + 1] ?? '';
    const braced = next === 'u' ? /^\{([0-9A-Fa-f]{1,6})\}/.exec(source.slice(i + 2)) : null;
    const fixed = next === 'u' ? /^[0-9A-Fa-f]{4}/.exec(source.slice(i + 2)) : null;
    if (braced) {
      out += `\\x{${braced[1]}}`;
      i += 1 + braced[0].length;
    } else if (fixed) {
      out += `\\x{${fixed[0]}}`;
      i += 1 + fixed[0].length;
    } else {
      out += ch + next;
      i++;
    }
  }
  return out;
}

/** Why a pattern is refused, once per message: custom rules run on RE2 so that no pattern can stall the proxy. */
const ENGINE = 'custom rules run on RE2, a linear-time engine, so that no pattern can stall the proxy';

function explainSyntaxError(source: string, engineMessage: string): string {
  const detail = engineMessage.replace(/^error parsing regexp: /, '');
  if (/\(\?[=!]/.test(source) && /unsupported Perl syntax: `\(\?[=!]/.test(engineMessage)) {
    return `pattern uses a lookahead ((?= or (?!), which RE2 cannot evaluate (${ENGINE}); match the following characters instead, or end with \\b`;
  }
  if (/invalid escape sequence: `\\(?:[1-9]|k)/.test(engineMessage)) {
    return `pattern uses a backreference (\\1 or \\k<name>), which RE2 cannot evaluate (${ENGINE}); spell out the repeated part`;
  }
  if (/invalid capture in lookbehind/.test(engineMessage)) {
    return `pattern has a capture group inside a lookbehind, which RE2 cannot evaluate (${ENGINE}); use (?:...) inside (?<=...) and (?<!...)`;
  }
  if (/invalid repeat count/.test(engineMessage)) {
    return `pattern has a repeat count over 1000 (${detail}); ${ENGINE}: use {1,1000} or less, or + when the length does not matter`;
  }
  return `pattern does not compile (${detail}); ${ENGINE}: fix the syntax`;
}
