import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fishQuote, posixShellQuote, powerShellQuote, systemdQuote, xmlEscape } from '../../src/installers/quoting.js';
import { readFishSingleQuoted, readPowerShellVerbatimString, requireTool, seededRandom, trickyString } from './support.js';

const CASES = 400;

function randomValues(seed: number): string[] {
  const random = seededRandom(seed);
  return [
    '',
    "it's",
    "''",
    'C:\\Program Files\\Bifrost Edge\\',
    '\u2018smart\u2019 \u201Aquotes\u201B',
    '$env:USERPROFILE `n $(Get-Process)',
    'line one\nline two',
    '日本語 😀',
    ...Array.from({ length: CASES }, () => trickyString(random)),
  ];
}

describe('posixShellQuote', () => {
  for (const shell of ['bash', 'dash']) {
    it(`round-trips tricky values through real ${shell}`, () => {
      requireTool(shell, shell);
      const values = randomValues(shell.length);
      const script = `printf '%s\\0' ${values.map(posixShellQuote).join(' ')}`;
      const output = execFileSync(shell, ['-c', script], { encoding: 'utf8' });
      expect(output.split('\0').slice(0, -1)).toEqual(values);
    });
  }

  it('leaves plain words readable and refuses NUL', () => {
    expect(posixShellQuote('/usr/bin/bifrost-edge')).toBe('/usr/bin/bifrost-edge');
    expect(posixShellQuote('a b')).toBe("'a b'");
    expect(() => posixShellQuote('a\u0000b')).toThrow(/NUL/);
  });
});

describe('powerShellQuote', () => {
  it('round-trips tricky values through a tokenizer written from the PowerShell language spec', () => {
    for (const value of randomValues(7)) {
      const quoted = powerShellQuote(value);
      const token = readPowerShellVerbatimString(quoted);
      expect(token.value).toBe(value);
      expect(token.end).toBe(quoted.length); // the literal ends exactly where the quoter ended it
    }
  });

  it('doubles the typographic single quotes PowerShell also ends strings on', () => {
    expect(powerShellQuote('it\u2019s')).toBe("'it\u2019\u2019s'");
    // Undoubled, the tokenizer would stop early: this is the bug the doubling prevents.
    expect(readPowerShellVerbatimString("'it\u2019s'").end).toBe(4);
  });
});

describe('fishQuote', () => {
  it('round-trips tricky values through a tokenizer written from fish\'s quoting rules', () => {
    for (const value of randomValues(11)) {
      const quoted = fishQuote(value);
      const token = readFishSingleQuoted(quoted);
      expect(token.value).toBe(value);
      expect(token.end).toBe(quoted.length);
    }
  });
});

describe('systemdQuote', () => {
  it('escapes specifiers and variables and quotes words with spaces', () => {
    expect(systemdQuote('/usr/bin/bifrost-edge')).toBe('/usr/bin/bifrost-edge');
    expect(systemdQuote('/opt/Bifrost Edge/bin/bifrost-edge')).toBe('"/opt/Bifrost Edge/bin/bifrost-edge"');
    expect(systemdQuote('100%$HOME"\\')).toBe('"100%%$$HOME\\"\\\\"');
    expect(() => systemdQuote('a\nb')).toThrow(/line break/);
  });
});

describe('xmlEscape', () => {
  it('escapes markup and refuses characters XML cannot hold', () => {
    expect(xmlEscape(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(xmlEscape('日本 😀\t\n')).toBe('日本 😀\t\n');
    expect(() => xmlEscape('bell\u0007')).toThrow(/U\+0007.*cannot hold/);
    expect(() => xmlEscape('lone \uD800 surrogate')).toThrow(/U\+D800/);
  });
});
