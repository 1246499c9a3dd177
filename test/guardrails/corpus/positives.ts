/**
 * Realistic prompts with planted secrets and personal data. Every planted value is fake and generated
 * deterministically (check digits computed); `planted` lists what a correct detector must report.
 */
import type { FindingType } from '../../../src/guardrails/finding.js';
import {
  aadhaar, canadianSin, cardNumber, DIGIT, dutchBsn, Fake, frenchNir, groupCard, groupIban, HEX, iban,
  italianFiscalCode, passportMrzLine2, spanishDni, ssn, ukNino,
} from './fake-data.js';
import { buildSample, SECRET_SAMPLES } from './secret-samples.js';

export interface PlantedValue {
  type: FindingType;
  value: string;
}

export interface CorpusCase {
  id: string;
  text: string;
  planted: PlantedValue[];
}

const SECRET_TEMPLATES: Array<(sample: string) => string> = [
  (s) => `I'm getting a 401 from the API after rotating keys. Here's my config:\n\`\`\`\n${s}\n\`\`\`\nWhat am I doing wrong?`,
  (s) => `Can you review this snippet before I push it to the shared repo?\n\n${s}\n\nI mostly care about error handling.`,
  (s) => `Logs from last night's deploy (trimmed):\nINFO  worker booting, pid 4121\n${s}\nERROR upstream rejected credentials, retrying in 30s`,
  (s) => `Summarize this thread for the incident review.\nAlex: staging creds are below, use them for the smoke test\n${s}\nSam: thanks, I'll rotate them tomorrow`,
  (s) => `Convert this to a Kubernetes secret manifest please:\n${s}`,
  (s) => `Why does my GitHub Actions job fail at the publish step? The step env is:\n${s}\nand the error is "authentication required".`,
];

const FIRST = ['jane', 'omar', 'li', 'sofia', 'mateo', 'aisha', 'lukas', 'chloe', 'ravi', 'emma', 'noah', 'yuki'];
const LAST = ['doe', 'haddad', 'wang', 'rossi', 'garcia', 'khan', 'muller', 'martin', 'patel', 'schmidt', 'okafor', 'tanaka'];
const DOMAINS = ['acme-corp.com', 'gmail.com', 'outlook.de', 'northwind.io', 'contoso.co.uk', 'yahoo.fr', 'globex.net', 'initech.org'];

function secretCases(): CorpusCase[] {
  return Object.entries(SECRET_SAMPLES).map(([ruleId, builder], i) => {
    const sample = buildSample(ruleId, builder);
    const template = SECRET_TEMPLATES[i % SECRET_TEMPLATES.length]!;
    return { id: `secret:${ruleId}`, text: template(sample.text), planted: [{ type: 'secret', value: sample.secret }] };
  });
}

function piiCases(): CorpusCase[] {
  const f = new Fake('pii-corpus');
  const cases: CorpusCase[] = [];
  const add = (id: string, text: string, ...planted: PlantedValue[]): void => {
    cases.push({ id, text, planted });
  };

  for (let i = 0; i < 12; i++) {
    const email = `${FIRST[i]}.${LAST[(i * 5) % LAST.length]}${i % 3 === 0 ? String(f.int(90) + 10) : ''}@${DOMAINS[i % DOMAINS.length]}`;
    const templates = [
      `Draft a polite follow-up to ${email} about the overdue invoice.`,
      `Customer record: name=${FIRST[i]} ${LAST[i]}, contact=${email}, tier=gold`,
      `From: ${email}\nSubject: Re: onboarding\n\nHi team, can we move the call to Thursday?`,
    ];
    add(`email:${i}`, templates[i % templates.length]!, { type: 'email', value: email });
  }

  const phones = [
    `+44 20 7946 0${f.str(DIGIT, 3)}`,
    `+1 (415) 555-0${f.str(DIGIT, 3)}`,
    `(212) 7${f.str(DIGIT, 2)}-${f.str(DIGIT, 4)}`,
    `646-2${f.str(DIGIT, 2)}-${f.str(DIGIT, 4)}`,
    `+49 30 ${f.str(DIGIT, 8)}`,
    `+33 6 ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)}`,
    `06 ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)} ${f.str(DIGIT, 2)}`,
    `+91 98${f.str(DIGIT, 3)} ${f.str(DIGIT, 5)}`,
    `+1415555${f.str(DIGIT, 4)}`,
    `07700 900${f.str(DIGIT, 3)}`,
    `0151 ${f.str(DIGIT, 4)} ${f.str(DIGIT, 4)}`,
    `020 7946 0${f.str(DIGIT, 3)}`,
    `98${f.str(DIGIT, 3)} ${f.str(DIGIT, 5)}`,
    `+61 4${f.str(DIGIT, 2)} ${f.str(DIGIT, 3)} ${f.str(DIGIT, 3)}`,
  ];
  const phoneTemplates = [
    (p: string) => `Please call the customer back on ${p} before 5pm, she is waiting for the refund.`,
    (p: string) => `Contact details for the venue: ${p} (ask for Marta).`,
    (p: string) => `Rewrite this SMS: "Hi, it's Dan, my new number is ${p}, save it!"`,
  ];
  phones.forEach((p, i) => add(`phone:${i}`, phoneTemplates[i % phoneTemplates.length]!(p), { type: 'phone', value: p }));

  const cards = [
    groupCard(cardNumber(f, '4', 16)),
    cardNumber(f, '4', 16),
    groupCard(cardNumber(f, '52', 16)),
    groupCard(cardNumber(f, '2221', 16)).replace(/ /g, '-'),
    groupCard(cardNumber(f, '37', 15)),
    cardNumber(f, '6011', 16),
    groupCard(cardNumber(f, '3530', 16)),
    groupCard(cardNumber(f, '55', 16)),
    groupCard(cardNumber(f, '4', 16)),
    cardNumber(f, '34', 15),
  ];
  const cardTemplates = [
    (c: string) => `The customer says card ${c} was charged twice on 3 May, can you draft a reply?`,
    (c: string) => `Payment failed for ${c} exp 09/27 — what should support ask next?`,
    (c: string) => `Extract the fields from this form: Name: R. Patel; Card number: ${c}; Amount: 129.00 EUR`,
  ];
  cards.forEach((c, i) => add(`card:${i}`, cardTemplates[i % cardTemplates.length]!(c), { type: 'credit_card', value: c }));

  const ibans = [
    groupIban(iban(f, 'DE', 22)),
    fixIban(groupIban(iban(f, 'GB', 22, DIGIT).replace(/^(GB\d{2})\d{4}/, (_m, head: string) => `${head}NWBK`))),
    iban(f, 'FR', 27),
    groupIban(iban(f, 'NL', 18)),
    groupIban(iban(f, 'ES', 24)),
    iban(f, 'BE', 16),
    groupIban(iban(f, 'CH', 21)),
    groupIban(iban(f, 'AT', 20)),
  ];
  const ibanTemplates = [
    (v: string) => `Please wire the deposit to IBAN ${v}, reference "Flat 4B".`,
    (v: string) => `Supplier bank details changed. New account: ${v}. Can you update the vendor master record?`,
  ];
  ibans.forEach((v, i) => add(`iban:${i}`, ibanTemplates[i % ibanTemplates.length]!(v), { type: 'iban', value: v }));

  for (let i = 0; i < 10; i++) {
    const value = ssn(f);
    const templates = [
      `Employee onboarding: SSN ${value}, start date next Monday.`,
      `Fill the W-4 for Jordan Lee, social security number ${value}.`,
      `Applicant data -> name: M. Brown, ssn: ${value}, dependents: 2`,
    ];
    add(`ssn:${i}`, templates[i % templates.length]!, { type: 'us_ssn', value });
  }

  const ips = [
    `${81 + f.int(40)}.${f.int(250)}.${f.int(250)}.${1 + f.int(250)}`,
    `${130 + f.int(60)}.${f.int(250)}.${f.int(250)}.${1 + f.int(250)}`,
    `${20 + f.int(40)}.${f.int(250)}.${f.int(250)}.${1 + f.int(250)}`,
    `2a01:4f8:${f.str(HEX, 4)}:${f.str(HEX, 4)}::${f.str(HEX, 3)}`,
    `2606:4700:${f.str(HEX, 4)}:${f.str(HEX, 4)}:${f.str(HEX, 4)}:${f.str(HEX, 4)}:${f.str(HEX, 4)}:${f.str(HEX, 4)}`,
    `${151 + f.int(40)}.${f.int(250)}.${f.int(250)}.${1 + f.int(250)}`,
  ];
  const ipTemplates = [
    (v: string) => `The attacker came from ${v} according to the nginx log, write an abuse report.`,
    (v: string) => `User reported slow logins from home, their public IP is ${v}.`,
  ];
  ips.forEach((v, i) => add(`ip:${i}`, ipTemplates[i % ipTemplates.length]!(v), { type: 'ip_address', value: v }));

  const ids: Array<[string, (v: string) => string]> = [
    [ukNino(f), (v) => `Payroll update for Chris: National Insurance number ${v}, tax code 1257L.`],
    [ukNino(f), (v) => `Form fields: NINO=${v}; employer ref 123/AB456`],
    [spanishDni(f), (v) => `El cliente se identificó con DNI ${v} en la sucursal.`],
    [spanishDni(f), (v) => `Verify the tenant: DNI ${v}, lease starts in June.`],
    [dutchBsn(f), (v) => `Zet het BSN ${v} in het formulier voor de belastingdienst.`],
    [dutchBsn(f), (v) => `Patient record: BSN: ${v}, huisarts Dr. de Vries`],
    [aadhaar(f).replace(/(\d{4})(\d{4})(\d{4})/, '$1 $2 $3'), (v) => `KYC documents received, Aadhaar ${v}, PAN pending.`],
    [aadhaar(f), (v) => `Aadhaar number: ${v} — please mask it in the report.`],
    [canadianSin(f).replace(/(\d{3})(\d{3})(\d{3})/, '$1 $2 $3'), (v) => `New hire in Toronto, SIN ${v}, add to payroll.`],
    [canadianSin(f), (v) => `social insurance number: ${v}`],
    [frenchNir(f), (v) => `Numéro de sécurité sociale : ${v}, mutuelle à jour.`],
    [italianFiscalCode(f), (v) => `Intestatario: codice fiscale ${v}, residenza Milano.`],
  ];
  ids.forEach(([v, t], i) => add(`national-id:${i}`, t(v), { type: 'national_id', value: v }));

  for (let i = 0; i < 4; i++) {
    const line2 = passportMrzLine2(f);
    add(`passport:${i}`, `Scan of the passport bottom lines:\nP<GBR${LAST[i]!.toUpperCase()}<<${FIRST[i]!.toUpperCase()}<<<<<<<<<<<<<<<<<<<<<<<<<<<\n${line2}`, {
      type: 'passport',
      value: line2,
    });
  }

  const dobs = ['1985-03-12', '12/03/1979', 'March 3, 1991', '3 July 1968', '07.11.1990', '1 February 2001'];
  const dobTemplates = [
    (d: string) => `Patient intake: Maria Lopez, DOB: ${d}, allergies: none.`,
    (d: string) => `He was born on ${d} in Porto, write a short bio.`,
    (d: string) => `Date of birth: ${d}\nPolicy holder: T. Nguyen`,
  ];
  dobs.forEach((d, i) => add(`dob:${i}`, dobTemplates[i % dobTemplates.length]!(d), { type: 'date_of_birth', value: d }));

  add(
    'mixed:support-ticket',
    `Ticket from ${FIRST[2]}.${LAST[3]}@${DOMAINS[0]} (phone +44 20 7946 0${f.str(DIGIT, 3)}): card ${groupCard(cardNumber(f, '4', 16))} declined.`,
  );
  const last = cases[cases.length - 1]!;
  last.planted = plantedFrom(last.text, [
    ['email', /\S+@\S+\.com/],
    ['phone', /\+44 20 7946 0\d{3}/],
    ['credit_card', /\d{4} \d{4} \d{4} \d{4}/],
  ]);
  add('mixed:hr', `Offer letter for ${FIRST[5]} ${LAST[5]}, ssn ${ssn(f)}, personal mail ${FIRST[5]}@${DOMAINS[1]}, born on 1990-02-17.`);
  const hr = cases[cases.length - 1]!;
  hr.planted = plantedFrom(hr.text, [
    ['us_ssn', /\d{3}-\d{2}-\d{4}/],
    ['email', /\S+@gmail\.com/],
    ['date_of_birth', /1990-02-17/],
  ]);
  return cases;
}

function plantedFrom(text: string, patterns: Array<[FindingType, RegExp]>): PlantedValue[] {
  return patterns.map(([type, re]) => ({ type, value: re.exec(text)![0] }));
}

/** The GB sample swapped digits for a bank code; recompute its check digits. */
function fixIban(grouped: string): string {
  const compact = grouped.replace(/ /g, '');
  const bban = compact.slice(4);
  let r = 0;
  for (const ch of `${bban}${compact.slice(0, 2)}00`) {
    const v = /[A-Z]/.test(ch) ? ch.charCodeAt(0) - 55 : Number(ch);
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  const fixed = `${compact.slice(0, 2)}${String(98 - r).padStart(2, '0')}${bban}`;
  return groupIban(fixed);
}

export function buildPositives(): CorpusCase[] {
  return [...secretCases(), ...piiCases()];
}
