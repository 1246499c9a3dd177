/**
 * US Social Security numbers. Dashed `123-45-6789` form anywhere; spaced or bare nine digits only right after
 * an SSN word. Never-issued numbers are rejected: area 000, 666 or 900–999, group 00, serial 0000, and the two
 * famous published examples (078-05-1120 from the Woolworth wallet card, 123-45-6789).
 */
import type { Finding } from '../finding.js';
import { contextBefore, digitsOf, eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const DASHED = /(?<![\w.+/-])(?<!\d[ -])\d{3}-\d{2}-\d{4}(?![\w]|[./-]\d| \d)/g;
const UNDASHED = /(?<![\w.+/-])\d{3} ?\d{2} ?\d{4}(?![\w]|[./-]\d| \d)/g;
const SSN_WORDS = /\b(?:ssn|social security(?: number| no\.?| #)?|ss#|soc\.? sec\.?)[\s.:#-]{0,6}$/i;
const NOT_SSN_WORDS = /\b(?:order|invoice|tracking|ticket|case|ref|reference|id|sku|serial|account|acct|transaction|txn|po|zip|part|routing)\b[\s.:#-]*(?:no\.?|number|num|nr)?[\s.:#-]{0,4}$/i;
const PUBLISHED_EXAMPLES = new Set(['078051120', '123456789', '219099999', '457555462']);

export function isIssuableSsn(digits: string): boolean {
  if (!/^\d{9}$/.test(digits) || PUBLISHED_EXAMPLES.has(digits)) return false;
  const area = Number(digits.slice(0, 3));
  const group = digits.slice(3, 5);
  const serial = digits.slice(5);
  return area !== 0 && area !== 666 && area < 900 && group !== '00' && serial !== '0000';
}

export const usSsnDetector: PiiDetector = {
  type: 'us_ssn',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, DASHED, (m) => {
      if (!isIssuableSsn(digitsOf(m[0]))) return;
      const inContext = contextBefore(text, m.index, SSN_WORDS, 30);
      if (!inContext && contextBefore(text, m.index, NOT_SSN_WORDS, 30)) return;
      findings.push({ type: 'us_ssn', ruleId: 'us-ssn', start: m.index, end: m.index + m[0].length, confidence: inContext ? 0.97 : 0.85 });
    });
    eachMatch(text, UNDASHED, (m) => {
      if (!contextBefore(text, m.index, SSN_WORDS, 30) || !isIssuableSsn(digitsOf(m[0]))) return;
      findings.push({ type: 'us_ssn', ruleId: 'us-ssn', start: m.index, end: m.index + m[0].length, confidence: 0.9 });
    });
    return findings;
  },
};
