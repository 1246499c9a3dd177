import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLogoutCommand, runWhoamiCommand, type CommandOutput } from '../../src/auth/commands.js';
import { authDirectory, createTokenStore } from '../../src/auth/create-token-store.js';
import { EncryptedFileTokenStore } from '../../src/auth/encrypted-file-token-store.js';
import type { EncryptionKeySource } from '../../src/auth/encryption-keys.js';
import { runCommand, type CommandRunner } from '../../src/auth/run-command.js';
import type { SafeStorageLike } from '../../src/auth/safe-storage-token-store.js';
import { TokenStoreError } from '../../src/auth/token-store.js';
import { startScriptedTokenEndpoint, type ScriptedTokenEndpoint } from './scripted-token-endpoint.js';

// A sign-in saved while the keyring answered; at the next start it does not (locked, no D-Bus in an
// SSH session). The store must keep to the backend that holds the sign-in and say "unlock", never fall
// back to the key-file store, which reports "not signed in" and lets `logout` leave the session behind.

let endpoint: ScriptedTokenEndpoint;

beforeAll(async () => {
  endpoint = await startScriptedTokenEndpoint();
});

afterAll(async () => {
  await endpoint.close();
});

function capture(): CommandOutput & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

/** The real secret-tool, on a session bus that is not there: what an SSH session without D-Bus gets. */
function unreachableKeyring(dataDir: string): CommandRunner {
  return (file, args, options) => runCommand('env', [`DBUS_SESSION_BUS_ADDRESS=unix:path=${path.join(dataDir, 'no-bus')}`, '-u', 'DISPLAY', file, ...args], options);
}

/** What an earlier run left while the keyring answered: the session file, its key in the keyring. */
async function savedWhileTheKeyringAnswered(dataDir: string): Promise<string> {
  const key = randomBytes(32);
  const keyring: EncryptionKeySource = { kind: 'secret-service', location: 'the Secret Service (answering back then)', getKey: async () => key, deleteKey: async () => undefined };
  const file = path.join(authDirectory(dataDir), 'session.secret-service.json');
  const { tokens } = await endpoint.savedSession();
  await new EncryptedFileTokenStore({ file, keySource: keyring }).save(tokens);
  return file;
}

describe('a saved sign-in whose keyring does not answer', () => {
  it('is reported as locked, and logout refuses to pretend nobody was signed in', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-locked-keyring-'));
    const file = await savedWhileTheKeyringAnswered(dataDir);
    const store = await createTokenStore({ dataDir, platform: 'linux', runCommand: unreachableKeyring(dataDir) });

    expect(store.describe().backend).toBe('secret-service');
    expect(await store.hasSaved()).toBe(true);
    const error = await store.load().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreError);
    expect(error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/is not usable: .*Unlock your keychain\/keyring and try again/) });

    const whoami = capture();
    expect(await runWhoamiCommand({ config: endpoint.config, store, output: whoami })).toBe(1);
    expect(whoami.stderr.join('\n')).toMatch(/Unlock your keychain\/keyring/);

    const logout = capture();
    expect(await runLogoutCommand({ config: endpoint.config, store, output: logout, discover: async () => endpoint.provider })).toBe(1);
    expect(logout.stdout).toEqual([]);
    expect(logout.stderr.join('\n')).toMatch(/^Sign-out failed: .*Unlock your keychain\/keyring .*Nothing was signed out: .*run `bifrost-edge logout` again once the keyring answers\. If that keyring is gone for good, delete the saved sign-in by hand: .*session\.secret-service\.json/);
    expect(fs.existsSync(file)).toBe(true);
    // Nor was a second, weaker copy started next to it.
    expect(fs.readdirSync(authDirectory(dataDir))).toEqual(['session.secret-service.json']);
  });

  it('through Electron safeStorage: every change says why instead of using another store', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-locked-keyring-'));
    const file = path.join(authDirectory(dataDir), 'session.safe-storage.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"format":"bifrost-edge-session","version":1,"protection":"electron-safe-storage","data":"AAAA"}\n');
    // The app asked before the OS keychain was unlocked.
    const locked: SafeStorageLike = { isEncryptionAvailable: () => false, encryptString: () => Buffer.alloc(0), decryptString: () => '' };
    const store = await createTokenStore({ dataDir, safeStorage: locked, platform: 'darwin', runCommand: unreachableKeyring(dataDir) });

    expect(store.describe().backend).toBe('electron-safe-storage');
    expect(await store.hasSaved()).toBe(true);
    await expect(store.load()).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^Cannot read the saved sign-in in .*session\.safe-storage\.json: .*keychain is unlocked/) });
    await expect(store.save((await endpoint.savedSession()).tokens)).rejects.toMatchObject({ code: 'unavailable' });

    const logout = capture();
    expect(await runLogoutCommand({ config: endpoint.config, store, output: logout, discover: async () => endpoint.provider })).toBe(1);
    expect(logout.stderr.join('\n')).toMatch(/Nothing was signed out/);
    expect(fs.existsSync(file)).toBe(true);
  });
});
