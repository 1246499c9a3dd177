import { describe, expect, it } from 'vitest';
import type { PiiType } from '../../src/guardrails/finding.js';
import { PII_DETECTORS } from '../../src/guardrails/pii/index.js';
import { aadhaar, canadianSin, cardNumber, dutchBsn, Fake, frenchNir, groupCard, groupIban, iban, italianFiscalCode, passportMrzLine2, spanishDni } from './corpus/fake-data.js';

const f = new Fake('pii-unit');
const visa = cardNumber(f, '4', 16);
const amex = cardNumber(f, '37', 15);
const ibanDe = iban(f, 'DE', 22);
const ibanEs = iban(f, 'ES', 24);
const bsn = dutchBsn(f);
const sin = canadianSin(f);
const uid = aadhaar(f);
const dni = spanishDni(f);
const nir = frenchNir(f);
const cf = italianFiscalCode(f);
const mrz = passportMrzLine2(f);

/** [type, text, the exact text expected to be reported — or null when nothing may fire]. */
const CASES: Array<[PiiType, string, string | null]> = [
  ['email', 'write to jane.doe@acme-corp.com today', 'jane.doe@acme-corp.com'],
  ['email', 'mail o.haddad+billing@mail.northwind.io', 'o.haddad+billing@mail.northwind.io'],
  ['email', 'support@example.com is the docs address', null],
  ['email', 'git@github.com:acme/repo.git', null],
  ['email', 'logo@2x.png', null],
  ['email', 'postgres://user:pa55word@db.acme.io/app', null],
  ['email', 'npm i @scope/pkg@1.2.3', null],
  ['email', 'Email:jane.roe@acme-corp.com', 'jane.roe@acme-corp.com'],
  ['email', 'Write to [Jane](mailto:jane.roe@acme-corp.com) today', 'jane.roe@acme-corp.com'],
  ['email', '<a href="mailto:jane.roe@acme-corp.com">Jane</a>', 'jane.roe@acme-corp.com'],
  ['email', 'redis://default:hunter2x@cache.acme.io:6379', null],
  ['email', 'see https://jane.roe@acme-corp.com/path', null],
  // `user:pass@host` without a scheme is a credential, not a mailbox: the password is not an e-mail local part.
  ['email', 'DATABASE=admin:hunter2@db.acme-corp.com', null],
  ['email', 'git clone alice:Tok3nXyz@git.acme-corp.com/repo.git', null],
  ['email', 'relay gmail:s3cretpw@smtp.acme-corp.com', null],
  ['email', 'E-Mail:jane.roe@acme-corp.com', 'jane.roe@acme-corp.com'],
  ['email', 'MAIL:jane.roe@acme-corp.com', 'jane.roe@acme-corp.com'],
  ['email', 'MAILTO:jane.roe@acme-corp.com', 'jane.roe@acme-corp.com'],
  ['phone', 'call me at +44 20 7946 0958', '+44 20 7946 0958'],
  ['phone', 'office: +1 (415) 555-0132', '+1 (415) 555-0132'],
  ['phone', 'E.164 +14155550132 works', '+14155550132'],
  ['phone', 'cell 646-212-4455', '646-212-4455'],
  ['phone', 'Berlin +49 30 12345678', '+49 30 12345678'],
  ['phone', 'portable 06 12 34 56 78', '06 12 34 56 78'],
  ['phone', 'mobile +91 98765 43210', '+91 98765 43210'],
  ['phone', 'London 020 7946 0958', '020 7946 0958'],
  ['phone', 'tel: 4155550132', '4155550132'],
  ['phone', 'version 1.2.3 and 2.10.15', null],
  ['phone', 'on 2024-01-15 and 15.01.2024', null],
  ['phone', 'Order #: 646-212-4455', null],
  ['phone', 'tracking 4155550132 via UPS', null],
  ['phone', 'area code 111-555-0132 is not valid', null],
  ['phone', 'ts 1714529624123', null],
  ['phone', '+1.2.3 not a phone', null],
  ['credit_card', `card ${groupCard(visa)} expired`, groupCard(visa)],
  ['credit_card', `pan=${visa}`, visa],
  ['credit_card', `amex ${groupCard(amex)}`, groupCard(amex)],
  ['credit_card', `bad luhn ${visa.slice(0, 15)}${(Number(visa[15]) + 1) % 10}`, null],
  ['credit_card', 'Stripe test card 4242 4242 4242 4242 in test mode', null],
  ['credit_card', 'order id 4242424242424242', null],
  ['credit_card', 'ten digits 1234567890123 long id', null],
  // Cards are usually written or exported with their expiry and CVV next to them.
  ['credit_card', `Card number: ${groupCard(visa)} 12/27`, groupCard(visa)],
  ['credit_card', `Card number: ${groupCard(visa)} 123`, groupCard(visa)],
  ['credit_card', `Card number: ${visa} 123`, visa],
  ['credit_card', `card ${visa} 12/2027 cvv 123`, visa],
  ['credit_card', `name,card,exp,cvv\nJane Roe,${visa},12/27,123`, visa],
  ['credit_card', `name,card\nJane Roe,${visa}\n`, visa],
  ['credit_card', `card ${visa}-12-27`, visa],
  ['credit_card', `amex ${groupCard(amex)} 07/29 1234`, groupCard(amex)],
  // ... but a card-shaped prefix of a longer number, or a decimal, is not a card.
  ['credit_card', `ref ${groupCard(visa)} 1234 5678`, null],
  ['credit_card', `value ${visa} 12345`, null],
  ['credit_card', `ratio 0,${visa}`, null],
  ['credit_card', `ratio 0.${visa}`, null],
  ['credit_card', `row 17,${visa},5`, null],
  ['iban', `pay to ${ibanDe}`, ibanDe],
  ['iban', `grouped ${ibanDe.replace(/(.{4})/g, '$1 ').trim()}`, ibanDe.replace(/(.{4})/g, '$1 ').trim()],
  ['iban', `wrong length ${ibanDe}1`, null],
  ['iban', `iban: ${ibanDe.replace(/(.{4})/g, '$1 ').trim().toLowerCase()}`, ibanDe.replace(/(.{4})/g, '$1 ').trim().toLowerCase()],
  ['iban', `iban: ${ibanDe.toLowerCase()}`, ibanDe.toLowerCase()],
  ['iban', `IBAN ${ibanDe.replace(/(.{4})/g, '$1-').replace(/-$/, '')}`, ibanDe.replace(/(.{4})/g, '$1-').replace(/-$/, '')],
  ['iban', `mixed case ${ibanDe.slice(0, 6)}${ibanDe.slice(6).replace(/\d/, 'x')}`, null],
  ['iban', `half dashed ${ibanDe.slice(0, 8)}-${ibanDe.slice(8)}`, null],
  ['iban', 'docs example DE89 3704 0044 0532 0130 00', null],
  ['iban', `bad check ${ibanDe.slice(0, 2)}00${ibanDe.slice(4)}`, null],
  // A word after the IBAN is not part of it: `… 1339 thanks` once swallowed " than"/"ks" and then failed as mixed case.
  ['iban', `IBAN ${groupIban(ibanEs)} thanks`, groupIban(ibanEs)],
  ['iban', `IBAN ${groupIban(ibanEs)} please`, groupIban(ibanEs)],
  ['iban', `IBAN ${groupIban(ibanEs)} ok`, groupIban(ibanEs)],
  ['iban', `IBAN ${ibanEs} gracias`, ibanEs],
  ['iban', `iban ${groupIban(ibanEs).toLowerCase()} OK`, groupIban(ibanEs).toLowerCase()],
  ['iban', `iban ${ibanEs.toLowerCase()} THANKS`, ibanEs.toLowerCase()],
  // ... nor is a word in the IBAN's own case, which reads like one more group.
  ['iban', `IBAN ${groupIban(ibanEs)} OK`, groupIban(ibanEs)],
  ['iban', `IBAN ${groupIban(ibanEs)} SENT TODAY`, groupIban(ibanEs)],
  ['iban', `IBAN ${groupIban(ibanDe)} OK`, groupIban(ibanDe)],
  ['iban', `iban ${groupIban(ibanDe).toLowerCase()} sent`, groupIban(ibanDe).toLowerCase()],
  ['iban', `IBAN ${ibanEs} OK`, ibanEs],
  ['iban', `IBAN ${ibanDe.replace(/(.{4})/g, '$1-').replace(/-$/, '')}-OK`, ibanDe.replace(/(.{4})/g, '$1-').replace(/-$/, '')],
  // A number after it may be part of it: too long, not an IBAN.
  ['iban', `IBAN ${groupIban(ibanEs)} 1234`, null],
  ['iban', `IBAN ${groupIban(ibanDe)}OK`, null],
  // Lowercase words and identifiers shaped like an IBAN are not one.
  ['iban', 'see de12 abcd efgh ijkl mnop qr for details', null],
  ['iban', 'ab12cdefghijklmnopqrstuv is a build id', null],
  ['iban', 'columns gb99 west side road and more', null],
  ['us_ssn', 'SSN 536-22-1987 on file', '536-22-1987'],
  ['us_ssn', 'ssn: 536221987', '536221987'],
  ['us_ssn', 'id 536221987 without context', null],
  ['us_ssn', 'area 000-12-3456', null],
  ['us_ssn', 'area 666-12-3456', null],
  ['us_ssn', 'area 912-12-3456', null],
  ['us_ssn', 'group 536-00-1987', null],
  ['us_ssn', 'serial 536-22-0000', null],
  ['us_ssn', 'famous 078-05-1120', null],
  ['ip_address', 'from 8.8.4.4 today', '8.8.4.4'],
  ['ip_address', 'v6 2606:4700:4700::1111 ok', '2606:4700:4700::1111'],
  ['ip_address', 'full 2a01:4f8:c17:b8f::2', '2a01:4f8:c17:b8f::2'],
  ['ip_address', 'localhost 127.0.0.1 and ::1', null],
  ['ip_address', 'docs 192.0.2.1 and 2001:db8::5', null],
  ['ip_address', 'version 1.2.3.4', null],
  ['ip_address', 'oid 1.3.6.1.4.1', null],
  ['ip_address', 'octet 256.1.1.1', null],
  ['ip_address', 'private 10.1.2.3 (low confidence)', '10.1.2.3'],
  ['ip_address', 'mac 00:1a:2b:3c:4d:5e and time 12:30:45', null],
  ['national_id', 'NINO AB 12 34 56 C', 'AB 12 34 56 C'],
  ['national_id', 'example QQ 12 34 56 C', null],
  ['national_id', `DNI ${dni}`, dni],
  ['national_id', `DNI ${dni.slice(0, 8)}${dni[8] === 'A' ? 'B' : 'A'}`, null],
  ['national_id', `BSN: ${bsn}`, bsn],
  ['national_id', `number ${bsn} without context`, null],
  ['national_id', `SIN ${sin}`, sin],
  ['national_id', `Aadhaar ${uid}`, uid],
  ['national_id', `grouped ${uid.replace(/(\d{4})(\d{4})(\d{4})/, '$1 $2 $3')}`, uid.replace(/(\d{4})(\d{4})(\d{4})/, '$1 $2 $3')],
  ['national_id', `NIR ${nir}`, nir],
  ['national_id', `CF ${cf}`, cf],
  ['passport', `MRZ\n${mrz}`, mrz],
  ['passport', `MRZ\n${mrz.slice(0, 43)}${(Number(mrz[43]) + 1) % 10}`, null],
  ['date_of_birth', 'DOB: 1985-03-12', '1985-03-12'],
  ['date_of_birth', 'born on 12/03/1979 in Porto', '12/03/1979'],
  ['date_of_birth', 'Date of birth: March 3, 1991', 'March 3, 1991'],
  ['date_of_birth', 'geboren am 07.11.1990', '07.11.1990'],
  ['date_of_birth', 'released on 2024-01-15', null],
  ['date_of_birth', 'DOB: 1492-10-12', null],
];

describe('PII detectors', () => {
  it.each(CASES)('%s in %j → %j', (type, text, expected) => {
    const found = PII_DETECTORS[type].detect(text).filter((x) => x.confidence >= 0.4);
    if (expected === null) expect(found.map((x) => text.slice(x.start, x.end))).toEqual([]);
    else expect(found.map((x) => text.slice(x.start, x.end))).toContain(expected);
  });

  it('reports private IPv4 ranges below the default 0.5 confidence', () => {
    const [finding] = PII_DETECTORS.ip_address.detect('host 192.168.1.20');
    expect(finding?.confidence).toBeLessThan(0.5);
  });
});
