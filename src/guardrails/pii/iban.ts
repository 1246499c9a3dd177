/**
 * IBANs: country code, two check digits, and a BBAN of the exact length that country uses, passing ISO 13616
 * mod-97. The widely published documentation examples (DE89 3704 0044 0532 0130 00, GB82 WEST ...) are not
 * findings: they appear in every banking API's docs.
 */
import { ibanMod97Valid } from '../checksums.js';
import type { Finding } from '../finding.js';
import { eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

/** Country code, check digits and BBAN groups, letters only in the one case `letters` names. */
function singleCase(letters: string): string {
  return `[${letters}]{2}\\d{2}(?:[ -]?[${letters}0-9]{4}){2,7}(?:[ -]?[${letters}0-9]{1,3})?`;
}

/**
 * All upper or all lower case (`de89 3704 …` as typed), grouped by spaces or dashes; `isConsistentlyGrouped` checks
 * the dashes. Each case is its own alternative so a following word in the other case (`… 1339 thanks`) can never be
 * taken in as a last group: one mixed-case pattern swallowed " than" and the whole IBAN was then rejected.
 */
const CANDIDATE = new RegExp(
  `(?<![A-Za-z0-9])(?:${singleCase('A-Z')}|${singleCase('a-z')})(?![A-Za-z0-9])`,
  'g',
);
/** Dash-grouped IBANs are grouped throughout: `DE89-3704-0044-…`, never `DE893704-0044…`. */
const DASH_GROUPED = /^[A-Za-z0-9]{4}(?:-[A-Za-z0-9]{4})*(?:-[A-Za-z0-9]{1,3})?$/;

/** IBAN length per country (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
  PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

const DOCUMENTATION_IBANS = new Set([
  'DE89370400440532013000', 'GB82WEST12345698765432', 'GB29NWBK60161331926819', 'FR1420041010050500013M02606',
  'NL91ABNA0417164300', 'ES9121000418450200051332', 'IT60X0542811101000000123456', 'BE68539007547034',
  'CH9300762011623852957', 'AT611904300234573201', 'GB33BUKB20201555555555', 'DE75512108001245126199',
]);

export const ibanDetector: PiiDetector = {
  type: 'iban',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, CANDIDATE, (match) => {
      const expected = IBAN_LENGTHS[match[0].slice(0, 2).toUpperCase()];
      if (expected === undefined) return;
      const candidate = withoutTrailingWords(match[0], expected);
      if (!isConsistentlyGrouped(candidate)) return;
      const compact = candidate.replace(/[ -]/g, '').toUpperCase();
      if (compact.length !== expected) return;
      if (!ibanMod97Valid(compact) || DOCUMENTATION_IBANS.has(compact)) return;
      findings.push({ type: 'iban', ruleId: 'iban', start: match.index, end: match.index + candidate.length, confidence: 0.97 });
    });
    return findings;
  },
};

/**
 * The candidate without the words the pattern took in after it. A word in the IBAN's own case (`… 31 OK`,
 * `… 3249 SENT`) reads like one more group, and the candidate was then too long for its country. What is
 * cut must be whole groups of letters only: a trailing number (`… 31 1234`) may belong to the IBAN, so
 * a candidate stays whole unless all that follows its length is words (and then fails the length check).
 */
function withoutTrailingWords(candidate: string, length: number): string {
  let characters = 0;
  for (let i = 0; i < candidate.length; i++) {
    if (candidate[i] === ' ' || candidate[i] === '-') continue;
    if (++characters < length) continue;
    const rest = candidate.slice(i + 1);
    if (rest === '') return candidate;
    return TRAILING_WORDS.test(rest) ? candidate.slice(0, i + 1) : candidate;
  }
  return candidate;
}

/** Separated groups of letters: what is left after an IBAN when words followed it. */
const TRAILING_WORDS = /^(?:[ -][A-Za-z]+)+$/;

/** Dashes only as full grouping. */
function isConsistentlyGrouped(candidate: string): boolean {
  if (!candidate.includes('-')) return true;
  return !candidate.includes(' ') && DASH_GROUPED.test(candidate);
}
