/**
 * Payment card numbers (PAN): 13–19 digits, contiguous or in the usual 4-4-4-4 / 4-6-5 groups, passing Luhn
 * and starting with a known issuer range (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro).
 *
 * Decision on test cards: the public test numbers that card networks and processors document
 * (4242 4242 4242 4242, 4111 1111 1111 1111, 5555 5555 5555 4444, ...) are *not* findings when the words
 * around them say they are test/example/sandbox numbers or name a processor's docs ("Stripe test card").
 * Outside such context they are reported, with lower confidence, because they are indistinguishable from a
 * real card in a support transcript.
 */
import { luhnValid } from '../checksums.js';
import type { Finding } from '../finding.js';
import { contextAround, contextBefore, digitsOf, eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

/** Nothing numeric continues: not a letter, digit or `/`, and no `.5`, `,5`, `-5`, ` 5` (a longer number). */
const NUMBER_ENDS = String.raw`(?![\w/]|[.,/-]\d| \d)`;
/** An expiry (`12/27`, `07-2029`) or a CVV (3–4 digits), as cards are written and exported next to the number. */
const EXPIRY_OR_CVV = String.raw`(?:0?[1-9]|1[0-2])[/-](?:20)?\d{2}|\d{3,4}`;
/**
 * 13–19 digits, optionally grouped by single spaces or dashes. Before it: no word character, decimal point,
 * sign, or a digit followed by `,` or ` ` (the inside of a longer number or a list of numbers); a comma after
 * a word is fine (a CSV field). After it: the number ends, or up to two expiry/CVV fields follow, separated
 * by spaces, commas, tabs, `;`, `|` or `-`, and then the number ends.
 */
const CANDIDATE = new RegExp(
  String.raw`(?<![\w.+-])(?<!\d[ ,])\d(?:[ -]?\d){12,18}(?=(?:[ ,;|\t-]{1,3}(?:${EXPIRY_OR_CVV})){0,2}${NUMBER_ENDS})`,
  'g',
);
/** A 4-4-4-4-3 run can be a 19-digit card or a 16-digit card and its CVV: the latter is tried when the former fails. */
const TRAILING_CVV = /[ -]\d{3,4}$/;

const GROUPINGS = new Set(['4-4-4-4', '4-4-4-4-3', '4-4-4-4-2', '4-4-4-4-1', '4-6-5', '4-6-4', '4-4-4-1', '4-4-4-3', '4-4-4-2', '4-4-5']);

const TEST_CARDS = new Set([
  '4242424242424242', '4000056655665556', '5555555555554444', '2223003122003222', '5200828282828210',
  '5105105105105100', '378282246310005', '371449635398431', '6011111111111117', '6011000990139424',
  '3056930009020004', '36227206271667', '3566002020360505', '6200000000000005', '4111111111111111',
  '4012888888881881', '4222222222222', '5454545454545454', '4000000000000002', '4000000000009995',
  '4000002500003155', '4000000000003220', '4000000000000077', '4000000000000341', '378734493671000',
  '6011601160116611', '3530111333300000', '30569309025904', '38520000023237', '6331101999990016',
  '5425233430109903', '2222420000001113', '4917610000000000', '4988438843884305', '4400000000000008',
  '4000111111111115', '4000000000000127', '5105105105105106', '6011000000000012', '3566111111111113',
]);

const TEST_CONTEXT = /\b(?:test(?:ing)?|sandbox|example|sample|dummy|fake|demo|docs?|documentation|stripe|braintree|adyen|paypal|checkout\.com|square|mock|staging)\b/i;
const CARD_WORDS = /\b(?:card|credit|debit|visa|mastercard|amex|american express|discover|pan|cc|payment|kreditkarte|carte|tarjeta)\b/i;
const NOT_CARD_WORDS = /\b(?:order|invoice|tracking|ticket|id|ref|reference|transaction|txn|account|acct|imei|serial|barcode|ean|upc|isbn)\b[\s.:#-]*(?:no\.?|number|num|nr)?[\s.:#-]{0,4}$/i;

export const paymentCardDetector: PiiDetector = {
  type: 'credit_card',
  keywords: [],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, CANDIDATE, (match) => {
      const candidate = [match[0], match[0].replace(TRAILING_CVV, '')].find(isCardNumber);
      if (candidate === undefined) return;
      const digits = digitsOf(candidate);
      const start = match.index;
      const end = start + candidate.length;
      const cardContext = contextAround(text, start, end, CARD_WORDS, 40);
      if (!cardContext && contextBefore(text, start, NOT_CARD_WORDS, 30)) return;
      let confidence = cardContext ? 0.95 : 0.85;
      if (TEST_CARDS.has(digits)) {
        if (contextAround(text, start, end, TEST_CONTEXT, 80)) return;
        confidence = 0.5;
      }
      findings.push({ type: 'credit_card', ruleId: `card-${issuerFor(digits)}`, start, end, confidence });
    });
    return findings;
  },
};

function isCardNumber(candidate: string): boolean {
  const digits = digitsOf(candidate);
  return hasCardGrouping(candidate) && luhnValid(digits) && issuerFor(digits) !== undefined;
}

function hasCardGrouping(candidate: string): boolean {
  const separators = new Set(candidate.replace(/\d/g, ''));
  if (separators.size === 0) return true;
  if (separators.size > 1) return false;
  const groups = candidate.split(/[ -]/).map((g) => g.length).join('-');
  return GROUPINGS.has(groups);
}

/** Issuer identification by IIN prefix and length; undefined when no known network issues that shape. */
export function issuerFor(digits: string): string | undefined {
  const length = digits.length;
  const prefix2 = Number(digits.slice(0, 2));
  const prefix3 = Number(digits.slice(0, 3));
  const prefix4 = Number(digits.slice(0, 4));
  const prefix6 = Number(digits.slice(0, 6));
  if (digits.startsWith('4') && [13, 16, 19].includes(length)) return 'visa';
  if (((prefix2 >= 51 && prefix2 <= 55) || (prefix4 >= 2221 && prefix4 <= 2720)) && length === 16) return 'mastercard';
  if ((prefix2 === 34 || prefix2 === 37) && length === 15) return 'amex';
  if ((prefix4 === 6011 || (prefix3 >= 644 && prefix3 <= 649) || prefix2 === 65 || (prefix6 >= 622126 && prefix6 <= 622925)) && length >= 16 && length <= 19) return 'discover';
  if (prefix4 >= 3528 && prefix4 <= 3589 && length >= 16 && length <= 19) return 'jcb';
  if (((prefix3 >= 300 && prefix3 <= 305) || prefix2 === 36 || prefix2 === 38 || prefix2 === 39) && length >= 14 && length <= 19) return 'diners';
  if (prefix2 === 62 && length >= 16 && length <= 19) return 'unionpay';
  if ((prefix2 === 50 || (prefix2 >= 56 && prefix2 <= 69)) && length >= 12 && length <= 19) return 'maestro';
  return undefined;
}
