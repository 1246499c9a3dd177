import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Compiled by test/global-setup.ts before any test runs. */
export const distInstallers = path.join(repoRoot, 'dist', 'src', 'installers');

const tempDirs: string[] = [];

export async function makeTempDir(prefix = 'bifrost-installers-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * The tools these tests drive. A missing one fails the test with what to install: these checks are the
 * only validation some generated files get, so they must never be skipped silently.
 */
export function requireTool(tool: string, install: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: install ${install} to run this test (apt-get install ${install}).`);
  }
}

export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A small seeded PRNG (mulberry32), so a failing property case can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that break naive quoting in one language or another, plus ordinary and non-BMP text. */
const TRICKY = [
  "'", '"', '`', '$', '\\', ' ', '\t', '\n', '\r', '%', '!', '*', '?', '[', ']', '{', '}', '(', ')', ';', '&', '|', '<', '>', '#', '~', '=', ',',
  '\u2018', '\u2019', '\u201A', '\u201B', '\u201C', '\u201D', '\u201E', 'é', 'ß', '日本', '😀', '\u00A0', '@', '-', '--', '$(id)', '${HOME}', "''", '"$x"',
];

/** A random string mixing the tricky characters above with plain letters. */
export function trickyString(random: () => number, maxParts = 12): string {
  const parts = Math.floor(random() * maxParts);
  let text = '';
  for (let index = 0; index < parts; index += 1) {
    text += random() < 0.6 ? TRICKY[Math.floor(random() * TRICKY.length)] : String.fromCharCode(97 + Math.floor(random() * 26));
  }
  return text;
}

const POWERSHELL_SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201A', '\u201B']);

/**
 * Reads one PowerShell verbatim string token the way PowerShell's tokenizer does (language spec
 * §2.3.5.2.1; Tokenizer.ScanStringLiteral): any single-quote character opens and closes it, and two in a
 * row stand for the second. Returns the value and how many characters the token used.
 */
export function readPowerShellVerbatimString(source: string, start = 0): { value: string; end: number } {
  if (!POWERSHELL_SINGLE_QUOTES.has(source[start] ?? '')) throw new Error(`no single quote at ${start}`);
  let value = '';
  for (let index = start + 1; index < source.length; index += 1) {
    const char = source[index]!;
    if (POWERSHELL_SINGLE_QUOTES.has(char)) {
      const next = source[index + 1];
      if (next === undefined || !POWERSHELL_SINGLE_QUOTES.has(next)) return { value, end: index + 1 };
      value += next;
      index += 1;
    } else {
      value += char;
    }
  }
  throw new Error('unterminated PowerShell string');
}

/** Reads one fish single-quoted string (fish-shell docs "Quotes": only \\ and \' are escapes inside). */
export function readFishSingleQuoted(source: string, start = 0): { value: string; end: number } {
  if (source[start] !== "'") throw new Error(`no single quote at ${start}`);
  let value = '';
  for (let index = start + 1; index < source.length; index += 1) {
    const char = source[index]!;
    if (char === '\\' && (source[index + 1] === '\\' || source[index + 1] === "'")) {
      value += source[index + 1];
      index += 1;
    } else if (char === "'") {
      return { value, end: index + 1 };
    } else {
      value += char;
    }
  }
  throw new Error('unterminated fish string');
}
