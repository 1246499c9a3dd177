/**
 * Inputs built to make backtracking regexes slow: long runs of one character, repeated rule prefixes that
 * start a match but never finish it, walls of base64, deep nesting. Each is exactly `size` characters.
 */
import { B64, Fake } from './fake-data.js';

const repeatTo = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

export function adversarialInputs(size: number): Array<{ name: string; text: string }> {
  const fake = new Fake('adversarial');
  const units: Record<string, string> = {
    'run of a': 'a',
    'run of A': 'A',
    'run of =': '=',
    'run of -': '-',
    'run of digits': '7',
    'spaced digits': '4 ',
    'dashed digits': '12-',
    'dotted digits': '1.',
    'run of @': '@',
    'run of :': ':',
    'hex with colons': 'ab:',
    'run of whitespace': ' \t\n',
    'password= repeated': 'password=',
    'quoted password repeated': '"password": "',
    'api_key= repeated': 'api_key=',
    'Bearer repeated': 'Bearer ',
    'sk- repeated': 'sk-',
    'AKIA repeated': 'AKIA',
    'eyJ repeated': 'eyJ',
    '-eyJ repeated': '-eyJ',
    '-fm2_ repeated': '-fm2_',
    '+ABSK repeated': '+ABSK',
    'token= repeated': 'token=',
    'jwt-ish segments': 'eyJhbGciOi.',
    'BEGIN PRIVATE KEY repeated': `-----BEGIN RSA ${'PRIVATE'} KEY-----\n`,
    'email-ish local parts': 'a.',
    'email-ish domains': 'a@a.',
    'url credentials': 'postgres://a:',
    'ipv4-ish': '1.2.3.',
    'phone-ish': '+1 2',
    'iban-ish': 'DE89 ',
    'dob-ish': 'DOB: 1',
    'nested brackets': '[',
    'nested braces': '{',
    'nested parens': '(',
    'mixed nesting': '[{(<',
    'xml-ish': '<a>',
    'percent-encoding': '%3D',
    'backslash-n': '\\n',
    'mrz-ish': 'P<GBR',
  };
  const inputs = Object.entries(units).map(([name, unit]) => ({ name, text: repeatTo(unit, size) }));
  inputs.push({ name: 'base64 wall', text: fake.str(B64, size) });
  inputs.push({ name: 'base64 lines', text: repeatTo(`${fake.str(B64, 76)}\n`, size) });
  inputs.push({ name: 'key= then base64 wall', text: `api_key=${fake.str(B64, size - 8)}` });
  inputs.push({ name: 'a then !', text: `${'a'.repeat(size - 1)}!` });
  return inputs;
}
