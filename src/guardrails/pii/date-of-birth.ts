/**
 * Dates of birth: a date is only personal data when the text says whose birthday it is, so this detector
 * fires only after "DOB", "date of birth", "born on", "birthday", "geboren am", "né le", "fecha de
 * nacimiento". The finding covers the date only. Dates elsewhere (logs, deadlines, releases) are not findings.
 */
import type { Finding } from '../finding.js';
import { eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const MONTH = '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const DATE =
  `(?:\\d{4}-\\d{1,2}-\\d{1,2}|\\d{1,2}[./-]\\d{1,2}[./-](?:\\d{4}|\\d{2})|${MONTH}\\.? \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}|\\d{1,2}(?:st|nd|rd|th)?(?: of)? ${MONTH}\\.?,? \\d{4})`;
const CONTEXT = '(?:\\bd\\.?o\\.?b\\b\\.?|date of birth|birth ?date|birthday|\\bborn(?: on)?|geburtsdatum|geboren am|geb\\.|n[ée]e? le|date de naissance|fecha de nacimiento|data di nascita)';
const DOB = new RegExp(`${CONTEXT}\\s{0,3}(?:is|was|:|=|-|,)?\\s{0,3}(?<date>${DATE})(?![\\w]|[./-]\\d)`, 'gid');

export const dateOfBirthDetector: PiiDetector = {
  type: 'date_of_birth',
  keywords: ['dob', 'd.o.b', 'birth', 'born', 'geburt', 'geboren', 'geb.', ' le ', 'naissance', 'nacimiento', 'nascita'],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, DOB, (m) => {
      const span = m.indices?.groups?.['date'];
      const date = m.groups?.['date'];
      if (!span || !date || !isPlausibleBirthDate(date)) return;
      findings.push({ type: 'date_of_birth', ruleId: 'date-of-birth', start: span[0], end: span[1], confidence: 0.9 });
    });
    return findings;
  },
};

function isPlausibleBirthDate(date: string): boolean {
  const year = Number(/(\d{4})/.exec(date)?.[1] ?? (/(\d{2})$/.exec(date)?.[1] ?? 'NaN'));
  if (Number.isNaN(year)) return false;
  if (year >= 1000 && (year < 1900 || year > 2030)) return false;
  const numbers = date.match(/\d+/g)?.map(Number) ?? [];
  return numbers.every((n) => n >= 1 || numbers.length === 1);
}
