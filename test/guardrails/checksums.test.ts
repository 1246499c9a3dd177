import { describe, expect, it } from 'vitest';
import {
  dutchBsnValid, frenchNirKey, ibanMod97Valid, italianFiscalCodeCheckLetter, luhnValid, mrzCheckDigit, spanishIdLetter, verhoeffValid,
} from '../../src/guardrails/checksums.js';

describe('check-digit algorithms', () => {
  it.each([
    ['4242424242424242', true],
    ['4242424242424241', false],
    ['378282246310005', true],
    ['046454286', true], // Canadian SIN sample from the CRA spec
    ['123456789', false],
    ['', false],
    ['12a4', false],
  ])('luhn(%s) = %s', (digits, valid) => expect(luhnValid(digits)).toBe(valid));

  it.each([
    ['DE89370400440532013000', true],
    ['GB82WEST12345698765432', true],
    ['GB82WEST12345698765433', false],
    ['NL91ABNA0417164300', true],
    ['de89370400440532013000', false],
  ])('iban mod-97(%s) = %s', (iban, valid) => expect(ibanMod97Valid(iban)).toBe(valid));

  it.each([
    ['234123412346', true],
    ['234123412347', false],
    ['2363', true],
  ])('verhoeff(%s) = %s', (digits, valid) => expect(verhoeffValid(digits)).toBe(valid));

  it.each([
    ['111222333', true],
    ['123456782', true],
    ['123456789', false],
    ['000000000', false],
  ])('dutch eleven-proof(%s) = %s', (digits, valid) => expect(dutchBsnValid(digits)).toBe(valid));

  it.each([
    [12345678, 'Z'],
    [0, 'T'],
    [99999999, 'R'],
  ])('spanish DNI letter for %i is %s', (n, letter) => expect(spanishIdLetter(n)).toBe(letter));

  it.each([
    ['L898902C3', 6],
    ['740812', 2],
    ['120415', 9],
  ])('ICAO MRZ check digit of %s is %i', (field, digit) => expect(mrzCheckDigit(field)).toBe(digit));

  it('computes the French NIR key (97 - n mod 97) including Corsica', () => {
    expect(frenchNirKey('1840675123456')).toBe(97 - Number(1840675123456n % 97n));
    expect(frenchNirKey('1842A75123456')).toBe(97 - Number(1841975123456n % 97n));
  });

  it('computes the Italian codice fiscale check letter', () => {
    expect(italianFiscalCodeCheckLetter('RSSMRA85T10A562')).toBe('S');
  });
});
