import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandOutput } from '../../src/auth/commands.js';
import { runLogoutCommand, runWhoamiCommand } from '../../src/auth/commands.js';
import { createTokenStore } from '../../src/auth/create-token-store.js';
import type { CommandResult, CommandRunner } from '../../src/auth/run-command.js';
import { readSecretLine, type SecretSource } from '../../src/auth/read-secret-line.js';
import { TokenStoreError } from '../../src/auth/token-store.js';
import { runVirtualKeyLoginCommand, type VirtualKeyLoginDependencies } from '../../src/auth/virtual-key-commands.js';
import { maskVirtualKey, virtualKeyShapeProblem } from '../../src/auth/virtual-key-shape.js';
import { createVirtualKeyStore, type VirtualKeyStore } from '../../src/auth/virtual-key-store.js';
import { createDeviceCredentialStore } from '../../src/control/client/create-device-credential-store.js';

/**
 * The pieces behind `bifrost-edge login --virtual-key`: the key's shape and mask, reading it without
 * echo, keeping it in protected storage of its own, and the command's decisions and messages.
 */

const KEY = 'sk-bf-contractor-7f3a9c';
const CONTROL_URL = 'http://127.0.0.1:8791';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'edge-vk-sign-in-'));
}

function capture(): CommandOutput & { stdout: string[]; stderr: string[]; all(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line), all: () => [...stdout, ...stderr].join('\n') };
}

/** Windows has no CLI keychain: the encrypted-file store, the same on every test machine. */
function keyFileStore(dataDir: string): Promise<VirtualKeyStore> {
  return createVirtualKeyStore({ dataDir, platform: 'win32' });
}

/** Every file under `dir` whose bytes contain `secret`. */
function filesContaining(dir: string, secret: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && fs.readFileSync(path.join(e.parentPath, e.name)).includes(secret))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('the shape of a virtual key', () => {
  const cases: Array<[string, string, RegExp | undefined]> = [
    ['a key', KEY, undefined],
    ['a short test key', 'sk-bf-ada-0001', undefined],
    ['nothing', '', /No virtual key was entered/],
    ['a provider key pasted by mistake', 'sk-proj-abcdefghijklmnop', /start with "sk-bf-"/],
    ['the prefix alone', 'sk-bf-', /not a complete Bifrost virtual key/],
    ['a key with a space inside', 'sk-bf-abcd efgh', /without spaces/],
    ['a key with a quote', 'sk-bf-abcd"efgh', /only letters, digits/],
  ];
  it.each(cases)('%s', (_what, text, problem) => {
    const found = virtualKeyShapeProblem(text);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
    // Whatever was typed is never repeated back: it may be another secret.
    if (found && text.length > 6) expect(found).not.toContain(text.slice(6));
  });

  it('is shown by its last four characters only', () => {
    expect(maskVirtualKey(KEY)).toBe('sk-bf-…3a9c');
    expect(maskVirtualKey('sk-bf-ada-0001')).toBe('sk-bf-…0001');
  });
});

/** A terminal as far as the prompt sees it: raw mode is recorded, typed characters are pushed in. */
function fakeTerminal(): { input: SecretSource; rawModes: boolean[]; shown: string[]; type(text: string): void } {
  const stream = new PassThrough();
  const rawModes: boolean[] = [];
  const input = Object.assign(stream, { isTTY: true, setRawMode: (raw: boolean) => rawModes.push(raw) }) as unknown as SecretSource;
  return { input, rawModes, shown: [], type: (text) => stream.write(text) };
}

describe('reading the key', () => {
  it('on a terminal: prompts on stderr, reads with echo off, handles backspace and arrow keys, restores the terminal', async () => {
    const terminal = fakeTerminal();
    const prompt = { write: (text: string) => terminal.shown.push(text) };
    const read = readSecretLine(terminal.input, prompt, 'Virtual key: ');
    terminal.type('sk-bf-contractor-7f3a9x');
    terminal.type('\u007f');
    terminal.type('\u001b[D');
    terminal.type('c\r');
    expect(await read).toBe(KEY);
    expect(terminal.rawModes).toEqual([true, false]);
    // Only the prompt and the line end were written: nothing of the key.
    expect(terminal.shown).toEqual(['Virtual key: ', '\n']);
  });

  it('on a terminal: Ctrl-C cancels and restores the terminal', async () => {
    const terminal = fakeTerminal();
    const read = readSecretLine(terminal.input, { write: () => true }, 'Virtual key: ');
    terminal.type('sk-bf-half\u0003');
    await expect(read).rejects.toThrow(/Cancelled/);
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it('from a pipe: the first line only, without its line end, and no prompt', async () => {
    const pipe = new PassThrough();
    const shown: string[] = [];
    const read = readSecretLine(pipe, { write: (t: string) => shown.push(t) }, 'Virtual key: ');
    pipe.write(`  ${KEY}\r\nsecond line that is not read\n`);
    expect(await read).toBe(KEY);
    expect(shown).toEqual([]);
  });

  it('from a pipe that ends without a line end', async () => {
    const pipe = new PassThrough();
    const read = readSecretLine(pipe, { write: () => true }, '');
    pipe.end(KEY);
    expect(await read).toBe(KEY);
  });

  it('from an empty pipe: an empty answer (refused by the shape check)', async () => {
    const pipe = new PassThrough();
    const read = readSecretLine(pipe, { write: () => true }, '');
    pipe.end();
    expect(await read).toBe('');
  });
});

describe('the saved virtual key', () => {
  it('is kept encrypted in files of its own, next to (never in) the sign-in and device credential', async () => {
    const dataDir = tempDir();
    const store = await keyFileStore(dataDir);
    expect(store.describe()).toMatchObject({ backend: 'encrypted-file', warning: expect.stringMatching(/virtual key is stored in an encrypted file/) });
    expect(await store.load()).toBeUndefined();

    await store.save({ virtualKey: KEY, controlUrl: CONTROL_URL });
    expect(await store.load()).toEqual({ virtualKey: KEY, controlUrl: CONTROL_URL, savedAt: expect.any(String) });
    expect(fs.readdirSync(path.join(dataDir, 'auth')).sort()).toEqual(['virtual-key.enc.json', 'virtual-key.key']);
    expect(fs.statSync(path.join(dataDir, 'auth', 'virtual-key.enc.json')).mode & 0o777).toBe(0o600);
    expect(filesContaining(dataDir, KEY)).toEqual([]);

    // The OIDC session store of the same data dir does not see it.
    expect(await (await createTokenStore({ dataDir, platform: 'win32' })).load()).toBeUndefined();

    await store.clear();
    expect(await store.load()).toBeUndefined();
    expect(fs.readdirSync(path.join(dataDir, 'auth'))).toEqual([]);
  });

  it('refuses a record that is not a virtual key instead of sending it anywhere', async () => {
    const dataDir = tempDir();
    // A device credential's store, pointed at the virtual key's files by mistake.
    const credentials = await createDeviceCredentialStore({ stateDir: path.join(dataDir, 'auth'), platform: 'win32' });
    await credentials.save({ controlUrl: CONTROL_URL, deviceId: 'dev_1', credential: 'device-credential-secret-0123456789' });
    for (const name of ['device-credential.enc.json', 'device-credential.key']) {
      fs.renameSync(path.join(dataDir, 'auth', name), path.join(dataDir, 'auth', name.replace('device-credential', 'virtual-key')));
    }
    const error = await (await keyFileStore(dataDir)).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as Error).message).toMatch(/does not hold a virtual key\. Run `bifrost-edge logout` to delete it, then `bifrost-edge login --virtual-key`/);
  });

  it('uses the Secret Service keyring when it answers, with an item of its own', async () => {
    const dataDir = tempDir();
    const items = new Map<string, string>();
    const run: CommandRunner = async (file, args, options = {}): Promise<CommandResult> => {
      const [command, ...rest] = args;
      const attributes = rest.filter((a) => !a.startsWith('--label=')).join(' ');
      if (command === 'lookup') return items.has(attributes) ? { code: 0, stdout: items.get(attributes)!, stderr: '' } : { code: 1, stdout: '', stderr: '' };
      if (command === 'store') items.set(attributes, options.input ?? '');
      if (command === 'clear') items.delete(attributes);
      return { code: file === 'secret-tool' ? 0 : 2, stdout: '', stderr: '' };
    };
    const store = await createVirtualKeyStore({ dataDir, platform: 'linux', runCommand: run });
    expect(store.describe().backend).toBe('secret-service');
    await store.save({ virtualKey: KEY, controlUrl: CONTROL_URL });
    expect([...items.keys()]).toEqual([`application bifrost-edge purpose virtual-key-key data-dir ${dataDir}`]);
    expect(fs.readdirSync(path.join(dataDir, 'auth'))).toEqual(['virtual-key.secret-service.json']);
    expect(filesContaining(dataDir, KEY)).toEqual([]);
    expect((await store.load())?.virtualKey).toBe(KEY);
  });
});

describe('bifrost-edge login --virtual-key (decisions and messages)', () => {
  function deps(overrides: Partial<VirtualKeyLoginDependencies> & { dataDir?: string } = {}): VirtualKeyLoginDependencies & { output: ReturnType<typeof capture>; asked: string[] } {
    const dataDir = overrides.dataDir ?? tempDir();
    const asked: string[] = [];
    return {
      controlUrl: CONTROL_URL,
      store: () => keyFileStore(dataDir),
      offeredMethods: async (url) => {
        asked.push(url);
        return ['oidc', 'virtual_key'];
      },
      readKey: async () => KEY,
      ...overrides,
      output: capture(),
      asked,
    };
  }

  it('saves the key when Edge Control allows it, and shows it masked', async () => {
    const dataDir = tempDir();
    const d = deps({ dataDir });
    expect(await runVirtualKeyLoginCommand(d)).toBe(0);
    expect(d.asked).toEqual([CONTROL_URL]);
    expect(d.output.stdout[0]).toBe(`Signed in to Bifrost Edge with a virtual key sk-bf-…${KEY.slice(-4)}.`);
    expect(d.output.all()).not.toContain(KEY);
    expect((await (await keyFileStore(dataDir)).load())?.virtualKey).toBe(KEY);
  });

  const refusals: Array<[string, Partial<VirtualKeyLoginDependencies>, number, RegExp]> = [
    ['no Edge Control configured', { controlUrl: undefined }, 2, /needs Edge Control.*control\.url/],
    ['Edge Control offers only company sign-in', { offeredMethods: async () => ['oidc'] }, 1, /does not allow signing in with a virtual key\. Sign in with your company account instead: `bifrost-edge login`/],
    ['Edge Control offers no sign-in at all', { offeredMethods: async () => [] }, 1, /does not allow signing in with a virtual key\. Ask your admin to allow virtual-key sign-in/],
    ['Edge Control is unreachable', { offeredMethods: async () => { throw new Error('cannot reach the Edge Control server at http://127.0.0.1:8791 (ECONNREFUSED)'); } }, 1, /Could not ask Edge Control .*ECONNREFUSED.*try again/],
    ['a malformed key', { readKey: async () => 'sk-proj-not-a-virtual-key' }, 1, /not a Bifrost virtual key.*Nothing was saved/],
    ['the prompt was cancelled', { readKey: async () => { throw new Error('Cancelled.'); } }, 1, /^Cancelled\.$/],
  ];
  it.each(refusals)('refuses: %s', async (_what, override, code, message) => {
    const dataDir = tempDir();
    const d = deps({ dataDir, ...override });
    expect(await runVirtualKeyLoginCommand(d)).toBe(code);
    expect(d.output.stderr.join('\n')).toMatch(message);
    expect(d.output.stdout).toEqual([]);
    // Nothing was written, not even an empty store.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('whoami shows the saved key masked; logout deletes it', async () => {
    const dataDir = tempDir();
    await runVirtualKeyLoginCommand(deps({ dataDir }));
    const virtualKeys = await keyFileStore(dataDir);
    const store = await createTokenStore({ dataDir, platform: 'win32' });
    const common = { config: undefined, store, virtualKeys, controlUrl: CONTROL_URL };

    const whoami = capture();
    expect(await runWhoamiCommand({ ...common, output: whoami })).toBe(0);
    expect(whoami.stdout[0]).toBe(`Signed in to Bifrost Edge with a virtual key sk-bf-…${KEY.slice(-4)}.`);
    expect(whoami.stdout.join('\n')).toMatch(/edge control: http:\/\/127\.0\.0\.1:8791\n.*since: .*\n.*stored in: +encrypted-file/);
    const json = capture();
    expect(await runWhoamiCommand({ ...common, output: json }, { json: true })).toBe(0);
    expect(JSON.parse(json.stdout[0]!)).toMatchObject({ signedIn: true, method: 'virtual_key', virtualKey: `sk-bf-…${KEY.slice(-4)}`, controlUrl: CONTROL_URL });
    expect(whoami.all() + json.all()).not.toContain(KEY);

    // A key saved for another Edge Control is not used, and whoami says so.
    const moved = capture();
    expect(await runWhoamiCommand({ ...common, controlUrl: 'https://edge-control.example.com', output: moved })).toBe(1);
    expect(moved.stderr.join('\n')).toMatch(/is for Edge Control at http:\/\/127\.0\.0\.1:8791, but this device now uses https:\/\/edge-control\.example\.com, so it is not used/);

    const logout = capture();
    expect(await runLogoutCommand({ ...common, output: logout })).toBe(0);
    expect(logout.stdout).toEqual([`Signed out of Bifrost Edge: the virtual key sk-bf-…${KEY.slice(-4)} was deleted from this device.`]);
    expect(await virtualKeys.load()).toBeUndefined();
    expect(filesContaining(dataDir, KEY)).toEqual([]);

    const after = capture();
    expect(await runWhoamiCommand({ ...common, output: after })).toBe(1);
    expect(after.stderr[0]).toMatch(/^Not signed in to Bifrost Edge/);
  });
});
