/**
 * Passport numbers, only where they carry check digits: the second line of an ICAO 9303 TD3 machine-readable
 * zone (the two lines printed at the bottom of every passport photo page). The document number, birth date,
 * expiry and composite check digits must all verify. Bare passport numbers have no checksum and are left to
 * custom rules.
 */
import { mrzCheckDigit } from '../checksums.js';
import type { Finding } from '../finding.js';
import { eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const MRZ_LINE_2 = /(?<![A-Z0-9<])[A-Z0-9<]{9}\d[A-Z<]{3}\d{6}\d[MFX<]\d{6}\d[A-Z0-9<]{14}[\d<]\d(?![A-Z0-9<])/g;

export const passportDetector: PiiDetector = {
  type: 'passport',
  // Line 1 of every MRZ has `<<` between surname and given names; a single `<` is in every code sample.
  keywords: ['<<'],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, MRZ_LINE_2, (m) => {
      if (mrzLine2Valid(m[0])) findings.push({ type: 'passport', ruleId: 'passport-mrz', start: m.index, end: m.index + m[0].length, confidence: 0.97 });
    });
    return findings;
  },
};

export function mrzLine2Valid(line: string): boolean {
  const check = (field: string, digit: string | undefined): boolean => digit !== undefined && mrzCheckDigit(field) === Number(digit === '<' ? 0 : digit);
  const number = line.slice(0, 9);
  const birth = line.slice(13, 19);
  const expiry = line.slice(21, 27);
  const personal = line.slice(28, 42);
  const composite = line.slice(0, 10) + line.slice(13, 20) + line.slice(21, 43);
  return (
    check(number, line[9]) &&
    check(birth, line[19]) &&
    check(expiry, line[27]) &&
    check(personal, line[42]) &&
    check(composite, line[43])
  );
}
