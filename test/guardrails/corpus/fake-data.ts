/**
 * Deterministic fake credentials and personal data for tests and the corpus. Nothing here is real: bodies
 * come from a seeded PRNG, check digits are computed. Vendor prefixes are assembled from pieces at run time
 * (`'sk_' + 'live_'`) so that no file in the repository contains a string a secret scanner would flag.
 */

/** mulberry32: small, fast, deterministic. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const DIGIT = '0123456789';
export const LETTERS = UPPER + LOWER;
export const ALNUM = UPPER + LOWER + DIGIT;
export const LOWER_ALNUM = LOWER + DIGIT;
export const UPPER_ALNUM = UPPER + DIGIT;
export const HEX = '0123456789abcdef';
export const B64 = ALNUM + '+/';
export const B64URL = ALNUM + '-_';
export const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const BECH32 = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';

/** Generator of random strings that never look like placeholders (no runs, no 1234567 / abcdefgh). */
export class Fake {
  private readonly rng: () => number;

  constructor(seed: number | string) {
    this.rng = createRng(typeof seed === 'number' ? seed : seedOf(seed));
  }

  int(max: number): number {
    return Math.floor(this.rng() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  str(alphabet: string, length: number): string {
    for (;;) {
      let out = '';
      for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
      const boring = /(.)\1{3}|1234567|abcdefgh|example|sample|dummy|xxxx|fake|your/i.test(out);
      const needsMix = length >= 12 && /\d/.test(alphabet) && /[A-Za-z]/.test(alphabet);
      const mixed = !needsMix || (/\d/.test(out) && /[A-Za-z]/.test(out));
      if (!boring && mixed) return out;
    }
  }

  digits(length: number): string {
    return String(1 + this.int(9)) + this.str(DIGIT, length - 1);
  }

  uuid(): string {
    return `${this.str(HEX, 8)}-${this.str(HEX, 4)}-4${this.str(HEX, 3)}-a${this.str(HEX, 3)}-${this.str(HEX, 12)}`;
  }

  /** A password with letters, digits and one symbol that is legal in URLs' userinfo. */
  password(): string {
    return `${this.str(ALNUM, 6)}${this.pick(['!', '*', '_', '~', '.'])}${this.str(ALNUM, 7)}${this.int(10)}`;
  }

  base64Of(text: string): string {
    return Buffer.from(text, 'utf8').toString('base64');
  }
}

export function base64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

export function jwtFor(fake: Fake, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  return `${header}.${base64url(JSON.stringify(claims))}.${fake.str(B64URL, 43)}`;
}

/** Joins parts so that vendor prefixes never appear whole in source files. */
export const j = (...parts: string[]): string => parts.join('');

export function pemBlock(fake: Fake, label: string, lines = 12): string {
  const body = Array.from({ length: lines }, () => fake.str(B64, 64)).join('\n');
  return `-----BEGIN ${label}-----\n${body}\n${fake.str(B64, 24)}==\n-----END ${label}-----`;
}

// ---- personal data with valid check digits ----

export function luhnCheckDigit(partial: string): number {
  let sum = 0;
  let double = true;
  for (let i = partial.length - 1; i >= 0; i--) {
    let d = Number(partial[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

export function cardNumber(fake: Fake, prefix: string, length: number): string {
  const partial = prefix + fake.str(DIGIT, length - prefix.length - 1);
  return partial + luhnCheckDigit(partial);
}

export function groupCard(digits: string): string {
  if (digits.length === 15) return `${digits.slice(0, 4)} ${digits.slice(4, 10)} ${digits.slice(10)}`;
  return digits.match(/.{1,4}/g)!.join(' ');
}

function mod97Of(alnum: string): number {
  let r = 0;
  for (const ch of alnum) {
    const v = /[A-Z]/.test(ch) ? ch.charCodeAt(0) - 55 : Number(ch);
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}

export function iban(fake: Fake, country: string, length: number, bbanAlphabet = DIGIT): string {
  const bban = fake.str(bbanAlphabet, length - 4);
  const check = 98 - mod97Of(`${bban}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

export function groupIban(value: string): string {
  return value.match(/.{1,4}/g)!.join(' ');
}

export function ssn(fake: Fake): string {
  const area = String(1 + fake.int(665)).padStart(3, '0');
  const safeArea = area === '666' ? '667' : area;
  return `${safeArea}-${String(10 + fake.int(89))}-${String(1000 + fake.int(8999))}`;
}

const VD = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VP = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

export function aadhaar(fake: Fake): string {
  const partial = String(2 + fake.int(8)) + fake.str(DIGIT, 10);
  let c = 0;
  [...partial].reverse().forEach((ch, i) => {
    c = VD[c]![VP[(i + 1) % 8]![Number(ch)]!]!;
  });
  return partial + VINV[c];
}

export function dutchBsn(fake: Fake): string {
  for (;;) {
    const first8 = String(1 + fake.int(9)) + fake.str(DIGIT, 7);
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += Number(first8[i]) * (9 - i);
    const last = sum % 11;
    if (last <= 9) return first8 + last;
  }
}

export function canadianSin(fake: Fake): string {
  const partial = String(1 + fake.int(7)) + fake.str(DIGIT, 7);
  return partial + luhnCheckDigit(partial);
}

export function spanishDni(fake: Fake): string {
  const n = 10000000 + fake.int(89999999);
  return `${n}${'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}`;
}

export function ukNino(fake: Fake): string {
  const first = fake.pick([...'ABCEGHJKLMNOPRSTWXYZ']);
  const second = fake.pick([...'ABCEGHJKLMNPRSTWXYZ']);
  const prefix = ['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'].includes(first + second) ? 'AB' : first + second;
  const digits = fake.str(DIGIT, 6);
  return `${prefix} ${digits.slice(0, 2)} ${digits.slice(2, 4)} ${digits.slice(4)} ${fake.pick(['A', 'B', 'C', 'D'])}`;
}

export function frenchNir(fake: Fake): string {
  const body = `${1 + fake.int(2)}${String(40 + fake.int(59))}${String(1 + fake.int(12)).padStart(2, '0')}${String(10 + fake.int(85))}${fake.str(DIGIT, 3)}${fake.str(DIGIT, 3)}`;
  const key = 97 - Number(BigInt(body) % 97n);
  return `${body.slice(0, 1)} ${body.slice(1, 3)} ${body.slice(3, 5)} ${body.slice(5, 7)} ${body.slice(7, 10)} ${body.slice(10)} ${String(key).padStart(2, '0')}`;
}

const MRZ_WEIGHTS = [7, 3, 1];
function mrzDigit(field: string): number {
  let sum = 0;
  [...field].forEach((ch, i) => {
    const v = ch === '<' ? 0 : /[A-Z]/.test(ch) ? ch.charCodeAt(0) - 55 : Number(ch);
    sum += v * MRZ_WEIGHTS[i % 3]!;
  });
  return sum % 10;
}

export function passportMrzLine2(fake: Fake): string {
  const number = fake.str(UPPER_ALNUM, 9);
  const birth = `${String(50 + fake.int(49))}${String(1 + fake.int(12)).padStart(2, '0')}${String(1 + fake.int(28)).padStart(2, '0')}`;
  const expiry = `${String(26 + fake.int(8))}${String(1 + fake.int(12)).padStart(2, '0')}${String(1 + fake.int(28)).padStart(2, '0')}`;
  const personal = '<<<<<<<<<<<<<<';
  const head = `${number}${mrzDigit(number)}GBR${birth}${mrzDigit(birth)}${fake.pick(['M', 'F'])}${expiry}${mrzDigit(expiry)}${personal}${mrzDigit(personal)}`;
  const composite = head.slice(0, 10) + head.slice(13, 20) + head.slice(21, 43);
  return head + mrzDigit(composite);
}

const CF_ODD: Record<string, number> = {
  '0': 1, '1': 0, '2': 5, '3': 7, '4': 9, '5': 13, '6': 15, '7': 17, '8': 19, '9': 21,
  A: 1, B: 0, C: 5, D: 7, E: 9, F: 13, G: 15, H: 17, I: 19, J: 21, K: 2, L: 4, M: 18,
  N: 20, O: 11, P: 3, Q: 6, R: 8, S: 12, T: 14, U: 16, V: 10, W: 22, X: 25, Y: 24, Z: 23,
};

export function italianFiscalCode(fake: Fake): string {
  const first15 = `${fake.str(UPPER, 6)}${String(50 + fake.int(49))}${fake.pick([...'ABCDEHLMPRST'])}${String(10 + fake.int(18))}${fake.pick([...'FHLZ'])}${fake.str(DIGIT, 3)}`;
  let sum = 0;
  [...first15].forEach((ch, i) => {
    sum += i % 2 === 0 ? CF_ODD[ch]! : /\d/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 65;
  });
  return first15 + String.fromCharCode(65 + (sum % 26));
}
