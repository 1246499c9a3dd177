/**
 * Sets of characters as the regex safety checker needs them: exact for ASCII (128 bits), one flag for
 * everything beyond. Enough to answer "can these two parts of a pattern match the same character?".
 */
export class CharSet {
  private constructor(
    private readonly ascii: bigint,
    readonly nonAscii: boolean,
  ) {}

  static readonly EMPTY = new CharSet(0n, false);
  static readonly ANY = new CharSet((1n << 128n) - 1n, true);

  static of(chars: string): CharSet {
    let bits = 0n;
    let nonAscii = false;
    for (const ch of chars) {
      const code = ch.codePointAt(0) ?? 0;
      if (code < 128) bits |= 1n << BigInt(code);
      else nonAscii = true;
    }
    return new CharSet(bits, nonAscii);
  }

  static range(from: number, to: number): CharSet {
    let bits = 0n;
    for (let code = from; code <= Math.min(to, 127); code++) bits |= 1n << BigInt(code);
    return new CharSet(bits, to >= 128);
  }

  union(other: CharSet): CharSet {
    return new CharSet(this.ascii | other.ascii, this.nonAscii || other.nonAscii);
  }

  complement(): CharSet {
    return new CharSet(~this.ascii & ((1n << 128n) - 1n), true);
  }

  intersects(other: CharSet): boolean {
    return (this.ascii & other.ascii) !== 0n || (this.nonAscii && other.nonAscii);
  }

  isEmpty(): boolean {
    return this.ascii === 0n && !this.nonAscii;
  }

  /** Adds the other case of every ASCII letter (the `i` flag). */
  caseFolded(): CharSet {
    const upper = (this.ascii >> 65n) & ((1n << 26n) - 1n);
    const lower = (this.ascii >> 97n) & ((1n << 26n) - 1n);
    return new CharSet(this.ascii | (upper << 97n) | (lower << 65n), this.nonAscii);
  }

  /** A few member characters, to build adversarial probe strings from. */
  samples(limit = 2): string[] {
    const out: string[] = [];
    for (let code = 32; code < 127 && out.length < limit; code++) {
      if ((this.ascii >> BigInt(code)) & 1n) out.push(String.fromCharCode(code));
    }
    if (out.length === 0 && this.nonAscii) out.push('é');
    return out;
  }
}

export const DIGITS = CharSet.range(48, 57);
export const WORD = CharSet.range(48, 57).union(CharSet.range(65, 90)).union(CharSet.range(97, 122)).union(CharSet.of('_'));
export const SPACE = CharSet.of(' \t\n\r\v\f\u00a0\u2028\u2029');
