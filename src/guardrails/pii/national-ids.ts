/**
 * National identifiers, limited to formats with a checksum or a strict structure so that random codes do
 * not fire. Numbers that are just nine digits (Dutch BSN, Canadian SIN) additionally need their name nearby.
 *  - UK National Insurance number: prefix letter rules (no D F I Q U V, no BG GB NK KN TN NT ZZ), suffix A–D
 *  - Spanish DNI / NIE: control letter = number mod 23
 *  - Dutch BSN: eleven-proof, with "BSN" / "burgerservicenummer" context
 *  - Indian Aadhaar: Verhoeff check digit, first digit 2–9; bare 12 digits need "Aadhaar" context
 *  - Canadian SIN: Luhn, with "SIN" / "social insurance" context
 *  - French NIR (sécurité sociale): 97 - (number mod 97) key
 *  - Italian codice fiscale: check letter
 */
import {
  dutchBsnValid,
  frenchNirKey,
  italianFiscalCodeCheckLetter,
  luhnValid,
  spanishIdLetter,
  verhoeffValid,
} from '../checksums.js';
import type { Finding } from '../finding.js';
import { contextAround, contextBefore, digitsOf, eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const UK_NINO = /(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/g;
const NINO_WORDS = /\b(?:national insurance|nino|ni number|ni no|nin)\b/i;
const SPANISH_ID = /(?<![A-Za-z0-9])(?:(?<dni>\d{8})|(?<nie>[XYZ]-?\d{7}))-?(?<letter>[A-HJ-NP-TV-Z])(?![A-Za-z0-9])/g;
const NINE_DIGITS = /(?<![\w.-])(?<!\d[ .-])\d{3,4}[ .-]?\d{2,3}[ .-]?\d{3,4}(?![\w]|[.-]\d| \d)/g;
const BSN_WORDS = /\b(?:bsn|burgerservicenummer|sofinummer|sofi-nummer)\b/i;
const SIN_WORDS = /\b(?:sin|social insurance(?: number)?|nas|num[ée]ro d'assurance sociale)\b/i;
const AADHAAR = /(?<![\w.-])(?<!\d[ -])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\w]|[.-]\d| \d)/g;
const AADHAAR_WORDS = /\b(?:aadhaa?r|uidai|uid)\b/i;
const FRENCH_NIR = /(?<![\w.-])[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w]|[.-]\d| \d)/g;
const ITALIAN_CF = /(?<![A-Za-z0-9])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?![A-Za-z0-9])/g;

export const nationalIdDetector: PiiDetector = {
  type: 'national_id',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    const push = (ruleId: string, start: number, end: number, confidence: number): void => {
      findings.push({ type: 'national_id', ruleId, start, end, confidence });
    };
    eachMatch(text, UK_NINO, (m) => {
      const end = m.index + m[0].length;
      const spaced = / /.test(m[0]);
      const inContext = contextAround(text, m.index, end, NINO_WORDS, 40);
      // Compact AB123456C also looks like part numbers; demand context unless written in the official groups.
      if (inContext || (spaced && /^[A-Z]{2} \d{2} \d{2} \d{2} [A-D]$/.test(m[0]))) push('uk-nino', m.index, end, inContext ? 0.95 : 0.7);
    });
    eachMatch(text, SPANISH_ID, (m) => {
      const groups = m.groups ?? {};
      const number = groups['dni'] ?? (groups['nie'] ?? '').replace('-', '').replace(/^X/, '0').replace(/^Y/, '1').replace(/^Z/, '2');
      if (spanishIdLetter(Number(number)) === groups['letter']) push(groups['dni'] ? 'es-dni' : 'es-nie', m.index, m.index + m[0].length, 0.9);
    });
    eachMatch(text, NINE_DIGITS, (m) => {
      const digits = digitsOf(m[0]);
      if (digits.length !== 9) return;
      const end = m.index + m[0].length;
      if (dutchBsnValid(digits) && contextBefore(text, m.index, BSN_WORDS, 40)) push('nl-bsn', m.index, end, 0.9);
      else if (luhnValid(digits) && !/^[08]/.test(digits) && contextBefore(text, m.index, SIN_WORDS, 40)) push('ca-sin', m.index, end, 0.9);
    });
    eachMatch(text, AADHAAR, (m) => {
      const digits = digitsOf(m[0]);
      if (digits.length !== 12 || !verhoeffValid(digits)) return;
      const end = m.index + m[0].length;
      const inContext = contextAround(text, m.index, end, AADHAAR_WORDS, 40);
      const grouped = /^\d{4}([ -])\d{4}\1\d{4}$/.test(m[0]);
      if (inContext || grouped) push('in-aadhaar', m.index, end, inContext ? 0.95 : 0.7);
    });
    eachMatch(text, FRENCH_NIR, (m) => {
      const compact = m[0].replace(/ /g, '');
      if (frenchNirKey(compact.slice(0, 13)) === Number(compact.slice(13))) push('fr-nir', m.index, m.index + m[0].length, 0.9);
    });
    eachMatch(text, ITALIAN_CF, (m) => {
      if (italianFiscalCodeCheckLetter(m[0].slice(0, 15)) === m[0][15]) push('it-codice-fiscale', m.index, m.index + m[0].length, 0.9);
    });
    return findings;
  },
};
