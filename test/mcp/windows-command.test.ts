import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { escapeArgument, findOnWindows, planWindowsSpawn, type WindowsEnvironment } from '../../src/mcp/windows-command.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A Windows machine with these files (names case-insensitive and either slash, as Windows reads them). */
function windows(files: string[], overrides: Partial<WindowsEnvironment> = {}): WindowsEnvironment {
  const key = (file: string) => file.toLowerCase().replaceAll('/', '\\');
  const present = new Set(files.map(key));
  return {
    path: 'C:\\Windows\\system32;"C:\\Program Files\\nodejs";C:\\Users\\ada\\.local\\bin',
    pathExt: '.COM;.EXE;.BAT;.CMD',
    comspec: 'C:\\Windows\\system32\\cmd.exe',
    cwd: 'C:\\Users\\ada',
    isFile: (file) => present.has(key(file)),
    ...overrides,
  };
}

describe('finding the file Windows would start', () => {
  const machine = windows([
    'C:\\Program Files\\nodejs\\npx.cmd', 'C:\\Program Files\\nodejs\\node.exe', 'C:\\Users\\ada\\.local\\bin\\uvx.exe',
    'C:\\Users\\ada\\server.bat', 'D:\\tools\\run.cmd',
  ]);
  it.each([
    ['npx', 'C:\\Program Files\\nodejs\\npx.cmd'],
    ['node', 'C:\\Program Files\\nodejs\\node.exe'],
    ['node.exe', 'C:\\Program Files\\nodejs\\node.exe'],
    ['uvx', 'C:\\Users\\ada\\.local\\bin\\uvx.exe'],
    // The current directory comes first, as cmd.exe and CreateProcess look.
    ['server', 'C:\\Users\\ada\\server.bat'],
    // With a directory, only there.
    ['D:\\tools\\run', 'D:\\tools\\run.cmd'],
    ['D:/tools/run.cmd', 'D:/tools/run.cmd'],
    ['C:\\elsewhere\\npx', undefined],
    ['no-such-server', undefined],
  ])('%s → %s', (program, file) => {
    // The extension comes from PATHEXT, in its case.
    expect(findOnWindows(program, machine)?.toLowerCase()).toBe(file?.toLowerCase());
  });
});

describe('cmd.exe reads each argument as text', () => {
  it.each([
    ['plain', '^"plain^"'],
    ['C:\\Project Files\\notes', '^"C:\\Project^ Files\\notes^"'],
    ['postgres://db/app?sslmode=require&name=mcp', '^"postgres://db/app^?sslmode=require^&name=mcp^"'],
    ['%USERPROFILE%', '^"^%USERPROFILE^%^"'],
    ['say "hi"', '^"say^ \\^"hi\\^"^"'],
    // Backslashes count only before a quote: doubled there, and at the end (before the closing quote).
    ['C:\\dir\\', '^"C:\\dir\\\\^"'],
    ['x\\\\"y', '^"x\\\\\\\\\\^"y^"'],
    ['a|b>c<d^e!f', '^"a^|b^>c^<d^^e^!f^"'],
    ['', '^"^"'],
  ])('%j → %s', (arg, escaped) => {
    expect(escapeArgument(arg)).toBe(escaped);
  });
});

describe('the spawn plan', () => {
  const machine = windows(['C:\\Program Files\\nodejs\\npx.cmd', 'C:\\Program Files\\nodejs\\node.exe', 'C:\\proj\\node_modules\\.bin\\mcp-server.cmd']);

  it('a program starts directly, its arguments untouched by any shell', () => {
    expect(planWindowsSpawn('node', ['C:\\Project Files\\server.js', 'a&b'], machine))
      .toEqual({ file: 'node', args: ['C:\\Project Files\\server.js', 'a&b'], windowsVerbatimArguments: false });
  });

  it('a .cmd script runs through cmd.exe with one escaped command line', () => {
    expect(planWindowsSpawn('npx', ['-y', '@modelcontextprotocol/server-filesystem', 'C:\\Project Files'], machine)).toEqual({
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '"C:\\Program^ Files\\nodejs\\npx.CMD ^"-y^" ^"@modelcontextprotocol/server-filesystem^" ^"C:\\Project^ Files^""'],
      windowsVerbatimArguments: true,
    });
  });

  it('an npm shim reads its arguments twice, so they are escaped twice', () => {
    const plan = planWindowsSpawn('C:\\proj\\node_modules\\.bin\\mcp-server', ['a&b'], machine);
    expect(plan.args[3]).toBe('"C:\\proj\\node_modules\\.bin\\mcp-server.CMD ^^^"a^^^&b^^^""');
  });

  it('a command not found starts directly, so the error is a plain ENOENT', () => {
    expect(planWindowsSpawn('no-such-server', ['x'], machine)).toEqual({ file: 'no-such-server', args: ['x'], windowsVerbatimArguments: false });
  });
});

describe('mcp wrap on Windows (simulated: process.platform win32, ComSpec a POSIX shell)', () => {
  it('the server gets its arguments exactly, spaces and & included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-win-'));
    const argvFile = path.join(dir, 'argv.jsonl');
    const args = [`${dir}/Project Files/notes`, 'postgres://db/app?sslmode=require&application_name=mcp', '%PATH%', 'say "hi"'];
    const code = await new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, [path.join(FIXTURES, 'wrap-as-windows.mjs'), JSON.stringify([process.execPath, path.join(FIXTURES, 'argv-server.mjs'), ...args])],
        { env: { ...process.env, ARGV_FILE: argvFile }, timeout: 15_000 });
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    expect(fs.readFileSync(argvFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[])).toEqual([args]);
  });
});
