/**
 * Phone numbers. Digit runs are everywhere (versions, dates, order ids, timestamps), so a number is only a
 * finding when it has the *shape* of a real numbering plan:
 *  - international: `+` and a country calling code, 8–15 digits in total (E.164), national length checked
 *    for the big plans;
 *  - national: NANP (US/CA) `(415) 555-0132` / `415-555-0132` with valid area and exchange codes;
 *    trunk-prefix plans (UK, DE, FR, NL, ...) starting with `0` and written in groups; Indian mobiles `98765 43210`;
 *  - bare digit runs only right after a phone word ("tel", "mobile", "call me at").
 * Anything just after an order / invoice / tracking / ticket word is skipped.
 */
import type { Finding } from '../finding.js';
import { contextBefore, digitsOf, eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const INTERNATIONAL = /(?<![\w+])\+[1-9][\d .()/-]{6,22}\d(?![\w]|[.-]\d)/g;
const NANP = /(?<![\w.+/-])(?<!\d[ /-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\w]|[./-]\d| \d)/g;
const TRUNK_PREFIX = /(?<![\w.+/-])(?<!\d[ /-])0[1-9]\d{0,4}(?:[ /-]\d{2,8}){1,4}(?![\w]|[./-]\d| \d)/g;
const FRENCH_DOTTED = /(?<![\w.+/-])(?<!\d[ /-])0[1-9](?:\.\d{2}){4}(?![\w]|[.-]\d)/g;
const INDIAN_MOBILE = /(?<![\w.+/-])(?<!\d[ /-])[6-9]\d{4}[ -]\d{5}(?![\w]|[./-]\d| \d)/g;
const BARE_DIGITS = /(?<![\w.+/-])\d{10,11}(?![\w]|[.-]\d)/g;

const PHONE_WORDS = /\b(?:phone|telephone|tel|mobile|cell|call(?: me)?(?: at| on)?|sms|text me|whatsapp|fax|contact|reach me|ph|mob|handy|telefon|téléphone|portable|móvil|telefono)(?:\s?(?:number|no|nr|#))?[\s.:#-]{0,6}$/i;
const NOT_PHONE_WORDS = /\b(?:order|invoice|inv|tracking|track|ticket|case|ref|reference|id|sku|serial|account|acct|transaction|txn|po|build|version|ver|isbn|issn|part|model|item|confirmation|booking|pnr|receipt|batch|lot|policy|claim|shipment|parcel)\b[\s.:#-]*(?:no\.?|number|num|nr)?[\s.:#-]{0,4}$/i;

/** Country calling codes that are assigned, as prefixes of the digit string (longest first when matched). */
const CALLING_CODES = new Set(
  (
    '1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 ' +
    '211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 248 249 ' +
    '250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 ' +
    '370 371 372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 ' +
    '594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 ' +
    '960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998'
  ).split(' '),
);

/** National significant number lengths for the most common plans; others accept 6–12. */
const NATIONAL_LENGTHS: Record<string, [number, number]> = {
  '1': [10, 10], '44': [9, 10], '49': [6, 13], '33': [9, 9], '91': [10, 10], '34': [9, 9], '39': [6, 11],
  '31': [9, 9], '61': [9, 9], '81': [9, 10], '86': [9, 11], '7': [10, 10], '55': [10, 11], '52': [10, 10],
  '41': [9, 9], '43': [7, 13], '32': [8, 9], '46': [7, 10], '47': [8, 8], '45': [8, 8], '353': [7, 9], '351': [9, 9],
  '48': [9, 9], '65': [8, 8], '971': [8, 9], '972': [8, 9], '27': [9, 9], '234': [8, 10], '254': [9, 9],
};

export const phoneDetector: PiiDetector = {
  type: 'phone',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    const add = (start: number, end: number, confidence: number, ruleId: string): void => {
      if (contextBefore(text, start, NOT_PHONE_WORDS, 30) && !contextBefore(text, start, PHONE_WORDS, 30)) return;
      const boosted = contextBefore(text, start, PHONE_WORDS, 30) ? Math.max(confidence, 0.9) : confidence;
      findings.push({ type: 'phone', ruleId, start, end, confidence: boosted });
    };
    eachMatch(text, INTERNATIONAL, (m) => {
      if (isInternationalNumber(m[0])) add(m.index, m.index + m[0].length, 0.85, 'phone-international');
    });
    eachMatch(text, NANP, (m) => {
      if (isNanpNumber(m[0])) add(m.index, m.index + m[0].length, 0.75, 'phone-nanp');
    });
    eachMatch(text, TRUNK_PREFIX, (m) => {
      if (isTrunkPrefixNumber(m[0])) add(m.index, m.index + m[0].length, 0.7, 'phone-national');
    });
    eachMatch(text, FRENCH_DOTTED, (m) => add(m.index, m.index + m[0].length, 0.75, 'phone-national'));
    eachMatch(text, INDIAN_MOBILE, (m) => add(m.index, m.index + m[0].length, 0.65, 'phone-in-mobile'));
    eachMatch(text, BARE_DIGITS, (m) => {
      if (contextBefore(text, m.index, PHONE_WORDS, 20)) add(m.index, m.index + m[0].length, 0.8, 'phone-in-context');
    });
    return findings;
  },
};

function isInternationalNumber(candidate: string): boolean {
  if (!hasSaneSeparators(candidate)) return false;
  const digits = digitsOf(candidate);
  if (digits.length < 8 || digits.length > 15) return false;
  for (const length of [1, 2, 3]) {
    const code = digits.slice(0, length);
    if (!CALLING_CODES.has(code)) continue;
    let national = digits.slice(length);
    if (/\(0\)/.test(candidate)) national = national.replace(/^0/, '');
    const [min, max] = NATIONAL_LENGTHS[code] ?? [6, 12];
    if (national.length < min || national.length > max) return false;
    return code === '1' ? isNanpDigits(national) : true;
  }
  return false;
}

/** One kind of separator between groups, no doubled separators, balanced parentheses. */
function hasSaneSeparators(candidate: string): boolean {
  if (/[ .\-/]{2}/.test(candidate.replace(/\) /g, ')'))) return false;
  const opens = candidate.split('(').length - 1;
  const closes = candidate.split(')').length - 1;
  if (opens !== closes || opens > 1) return false;
  const separators = new Set(candidate.replace(/[\d+()]/g, ''));
  separators.delete(' ');
  return separators.size <= 1;
}

function isNanpNumber(candidate: string): boolean {
  const digits = digitsOf(candidate);
  const national = digits.length === 11 ? digits.slice(1) : digits;
  if (national.length !== 10) return false;
  const separators = candidate.replace(/^1[ .-]/, '').replace(/[\d()]/g, '');
  if (!candidate.includes('(') && new Set(separators).size > 1) return false;
  return isNanpDigits(national);
}

/** NANP: area code and exchange start with 2–9, and neither is an N11 service code. */
function isNanpDigits(national: string): boolean {
  return /^[2-9]\d{2}[2-9]\d{6}$/.test(national) && !/^[2-9]11/.test(national) && !/^\d{3}[2-9]11/.test(national);
}

function isTrunkPrefixNumber(candidate: string): boolean {
  const digits = digitsOf(candidate);
  if (digits.length < 10 || digits.length > 12) return false;
  const separators = new Set(candidate.replace(/\d/g, ''));
  return separators.size === 1;
}
