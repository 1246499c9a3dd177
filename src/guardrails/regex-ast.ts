/**
 * A small parser for JavaScript regex source, producing just enough structure for the safety checker:
 * sequences, alternations, groups, quantifiers and character sets. It assumes the source already compiled
 * (callers check that first), so it is lenient about syntax and never throws on valid patterns.
 */
import { CharSet, DIGITS, SPACE, WORD } from './char-set.js';

export type RegexNode =
  | { kind: 'seq'; items: RegexNode[]; at: number; to: number }
  | { kind: 'alt'; branches: RegexNode[]; at: number; to: number }
  | { kind: 'group'; body: RegexNode; lookaround: boolean; at: number; to: number }
  | { kind: 'quant'; min: number; max: number; body: RegexNode; at: number; to: number }
  | { kind: 'chars'; set: CharSet; at: number; to: number }
  | { kind: 'backref'; at: number; to: number }
  | { kind: 'assert'; at: number; to: number };

export function parseRegex(source: string, flags: string): RegexNode {
  return new Parser(source, flags.includes('i'), flags.includes('u') || flags.includes('v')).parse();
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly ignoreCase: boolean,
    private readonly unicode: boolean,
  ) {}

  parse(): RegexNode {
    const node = this.alternation();
    return node;
  }

  private alternation(): RegexNode {
    const at = this.pos;
    const branches = [this.sequence()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches, at, to: this.pos };
  }

  private sequence(): RegexNode {
    const at = this.pos;
    const items: RegexNode[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const atomStart = this.pos;
      const atom = this.atom();
      items.push(this.quantified(atom, atomStart));
    }
    return { kind: 'seq', items, at, to: this.pos };
  }

  private quantified(atom: RegexNode, atomStart: number): RegexNode {
    const ch = this.src[this.pos];
    let min: number;
    let max: number;
    if (ch === '*') [min, max] = [0, Infinity];
    else if (ch === '+') [min, max] = [1, Infinity];
    else if (ch === '?') [min, max] = [0, 1];
    else if (ch === '{') {
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!braces) return atom;
      min = Number(braces[1]);
      max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
      this.pos += braces[0].length - 1;
    } else return atom;
    this.pos++;
    if (this.src[this.pos] === '?') this.pos++;
    return { kind: 'quant', min, max, body: atom, at: atomStart, to: this.pos };
  }

  private atom(): RegexNode {
    const at = this.pos;
    const ch = this.src[this.pos++]!;
    switch (ch) {
      case '(':
        return this.group(at);
      case '[':
        return this.chars(this.charClass(), at);
      case '.':
        return this.chars(CharSet.ANY, at);
      case '^':
      case '$':
        return { kind: 'assert', at, to: this.pos };
      case '\\':
        return this.escape(at);
      default:
        return this.chars(CharSet.of(ch), at);
    }
  }

  private group(at: number): RegexNode {
    let lookaround = false;
    if (this.src[this.pos] === '?') {
      const rest = this.src.slice(this.pos);
      if (rest.startsWith('?:')) this.pos += 2;
      else if (rest.startsWith('?=') || rest.startsWith('?!')) [this.pos, lookaround] = [this.pos + 2, true];
      else if (rest.startsWith('?<=') || rest.startsWith('?<!')) [this.pos, lookaround] = [this.pos + 3, true];
      else if (rest.startsWith('?<')) this.pos = this.src.indexOf('>', this.pos) + 1;
      else {
        // Modifier groups such as (?i:...): skip to the colon.
        const colon = this.src.indexOf(':', this.pos);
        this.pos = colon >= 0 ? colon + 1 : this.pos + 1;
      }
    }
    const body = this.alternation();
    if (this.src[this.pos] === ')') this.pos++;
    return { kind: 'group', body, lookaround, at, to: this.pos };
  }

  private escape(at: number): RegexNode {
    const ch = this.src[this.pos++] ?? '\\';
    switch (ch) {
      case 'd': return this.chars(DIGITS, at, false);
      case 'D': return this.chars(DIGITS.complement(), at, false);
      case 'w': return this.chars(WORD, at, false);
      case 'W': return this.chars(WORD.complement(), at, false);
      case 's': return this.chars(SPACE, at, false);
      case 'S': return this.chars(SPACE.complement(), at, false);
      case 'b':
      case 'B':
        return { kind: 'assert', at, to: this.pos };
      case 'k':
        this.pos = Math.max(this.pos, this.src.indexOf('>', this.pos) + 1);
        return { kind: 'backref', at, to: this.pos };
      default:
        if (/[1-9]/.test(ch)) {
          while (/\d/.test(this.src[this.pos] ?? '')) this.pos++;
          return { kind: 'backref', at, to: this.pos };
        }
        return this.chars(this.escapedChar(ch), at);
    }
  }

  /** The set for an escape that stands for characters (`\n`, `\x41`, `\u{1F600}`, `\p{L}`, `\.`). */
  private escapedChar(ch: string): CharSet {
    const code = this.escapedCode(ch);
    return typeof code === 'number' ? CharSet.of(String.fromCodePoint(code)) : code;
  }

  /** A single code point, or a set when the escape stands for many characters (`\p{L}`). */
  private escapedCode(ch: string): number | CharSet {
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (simple[ch] !== undefined) return simple[ch];
    if (ch === 'x') return this.hexCode(2) ?? 120;
    if (ch === 'u') {
      if (this.src[this.pos] === '{') {
        const close = this.src.indexOf('}', this.pos);
        const code = parseInt(this.src.slice(this.pos + 1, close), 16);
        this.pos = close + 1;
        return Number.isNaN(code) ? CharSet.ANY : code;
      }
      return this.hexCode(4) ?? 117;
    }
    if ((ch === 'p' || ch === 'P') && this.unicode && this.src[this.pos] === '{') {
      this.pos = this.src.indexOf('}', this.pos) + 1;
      return CharSet.ANY;
    }
    if (ch === 'c' && /[A-Za-z]/.test(this.src[this.pos] ?? '')) {
      return (this.src.charCodeAt(this.pos++) % 32);
    }
    return ch.codePointAt(0)!;
  }

  private hexCode(digits: number): number | undefined {
    const hex = this.src.slice(this.pos, this.pos + digits);
    if (hex.length !== digits || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
    this.pos += digits;
    return parseInt(hex, 16);
  }

  private charClass(): CharSet {
    let negate = false;
    if (this.src[this.pos] === '^') [negate, this.pos] = [true, this.pos + 1];
    let set = CharSet.EMPTY;
    while (this.pos < this.src.length && this.src[this.pos] !== ']') {
      const low = this.classAtom();
      const isRange = this.src[this.pos] === '-' && this.pos + 1 < this.src.length && this.src[this.pos + 1] !== ']';
      if (isRange) {
        this.pos++;
        const high = this.classAtom();
        set =
          typeof low === 'number' && typeof high === 'number'
            ? set.union(CharSet.range(low, high))
            : set.union(asSet(low)).union(asSet(high)).union(CharSet.of('-'));
      } else set = set.union(asSet(low));
    }
    this.pos++;
    return negate ? set.complement() : set;
  }

  /** One class member: a code point (so ranges work) or a class escape like `\d`. */
  private classAtom(): number | CharSet {
    const ch = this.src[this.pos++]!;
    if (ch !== '\\') return ch.codePointAt(0)!;
    const esc = this.src[this.pos++] ?? '\\';
    const classes: Record<string, CharSet> = {
      d: DIGITS, D: DIGITS.complement(), w: WORD, W: WORD.complement(), s: SPACE, S: SPACE.complement(),
    };
    if (classes[esc]) return classes[esc];
    if (esc === 'b') return 8;
    return this.escapedCode(esc);
  }

  private chars(set: CharSet, at: number, fold = true): RegexNode {
    return { kind: 'chars', set: fold && this.ignoreCase ? set.caseFolded() : set, at, to: this.pos };
  }
}

function asSet(member: number | CharSet): CharSet {
  return typeof member === 'number' ? CharSet.of(String.fromCodePoint(member)) : member;
}
