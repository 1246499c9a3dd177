import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authDirectory, createTokenStore } from '../../src/auth/create-token-store.js';
import { EncryptedFileTokenStore, KEY_FILE_WARNING } from '../../src/auth/encrypted-file-token-store.js';
import { KeyFileSource, SecretServiceKeySource } from '../../src/auth/encryption-keys.js';
import { runCommand } from '../../src/auth/run-command.js';
import { SafeStorageTokenStore, type SafeStorageLike } from '../../src/auth/safe-storage-token-store.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import { TokenStoreError, type TokenStore } from '../../src/auth/token-store.js';

const posix = process.platform !== 'win32';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'edge-token-store-'));
}

function sampleTokens(overrides: Partial<SessionTokens> = {}): SessionTokens {
  return {
    version: 1,
    issuer: 'https://login.example.com',
    clientId: 'bifrost-edge',
    accessToken: 'access-token-secret-value',
    tokenType: 'bearer',
    accessTokenExpiresAt: 1_900_000_000_000,
    refreshToken: 'refresh-token-secret-value',
    idToken: 'header.payload.signature',
    idTokenClaims: { sub: 'alice', iss: 'https://login.example.com', aud: 'bifrost-edge', exp: 1_900_000_000 },
    userInfo: { sub: 'alice', email: 'alice@example.com', groups: ['engineering'] },
    scope: 'openid email profile offline_access',
    receivedAt: 1_899_999_000_000,
    ...overrides,
  };
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

async function expectStoreError(promise: Promise<unknown>, code: TokenStoreError['code'], message: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TokenStoreError);
  expect((error as TokenStoreError).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

/** A store's contract, for every backend. */
async function expectRoundTrip(store: TokenStore, files: string[]): Promise<void> {
  expect(await store.load()).toBeUndefined();
  await store.save(sampleTokens());
  expect(await store.load()).toEqual(sampleTokens());
  // Saving again replaces (a rotated refresh token must win).
  await store.save(sampleTokens({ refreshToken: 'rotated-refresh-token' }));
  expect((await store.load())?.refreshToken).toBe('rotated-refresh-token');
  for (const file of files) {
    const content = fs.readFileSync(file, 'utf8');
    expect(content).not.toContain('refresh-token');
    expect(content).not.toContain('alice');
    if (posix) expect(mode(file).toString(8)).toBe('600');
  }
  await store.clear();
  expect(await store.load()).toBeUndefined();
  for (const file of files) expect(fs.existsSync(file)).toBe(false);
  await store.clear();
}

describe('EncryptedFileTokenStore with a key file', () => {
  function setup() {
    const dir = path.join(tempDir(), 'auth');
    const file = path.join(dir, 'session.enc.json');
    const keyFile = path.join(dir, 'session.key');
    return { dir, file, keyFile, store: new EncryptedFileTokenStore({ file, keySource: new KeyFileSource(keyFile) }) };
  }

  it('round-trips, keeps files 0600 in a 0700 folder, and deletes both on clear', async () => {
    const { dir, file, keyFile, store } = setup();
    await store.save(sampleTokens());
    if (posix) expect(mode(dir).toString(8)).toBe('700');
    await store.clear();
    await expectRoundTrip(store, [file, keyFile]);
  });

  it('warns that a key file only protects against casual disclosure', () => {
    const { store } = setup();
    expect(store.describe()).toMatchObject({ backend: 'encrypted-file', warning: KEY_FILE_WARNING });
    expect(KEY_FILE_WARNING).toMatch(/casual disclosure .* not against another program running as your user account/);
  });

  it('detects a tampered file and says what to do', async () => {
    const { file, store } = setup();
    await store.save(sampleTokens());
    const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as { data: string };
    const data = Buffer.from(envelope.data, 'base64');
    data[10] = data[10]! ^ 0x01;
    fs.writeFileSync(file, JSON.stringify({ ...envelope, data: data.toString('base64') }));
    await expectStoreError(store.load(), 'corrupt', /failed its integrity check: it was modified.*bifrost-edge logout.*bifrost-edge login/);
  });

  it('detects an edited header (authenticated as additional data)', async () => {
    const { file, keyFile, store } = setup();
    await store.save(sampleTokens());
    const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...envelope, keySource: 'secret-service' }));
    await expectStoreError(store.load(), 'corrupt', /encrypted with a key from secret-service/);
    // Same header, but re-encrypted under a key the attacker chose: the tag no longer verifies.
    const attackerKey = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', attackerKey, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(sampleTokens({ idTokenClaims: { sub: 'mallory' } }))), cipher.final()]);
    fs.writeFileSync(file, JSON.stringify({ ...envelope, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') }));
    await expectStoreError(store.load(), 'corrupt', /integrity check/);
    expect(fs.existsSync(keyFile)).toBe(true);
  });

  it('explains a missing key, damaged JSON and a damaged key', async () => {
    const { file, keyFile, store } = setup();
    await store.save(sampleTokens());
    const saved = fs.readFileSync(file, 'utf8');
    const key = fs.readFileSync(keyFile, 'utf8');

    fs.unlinkSync(keyFile);
    await expectStoreError(store.load(), 'corrupt', /can't be decrypted: its key \(.*session\.key\) is missing/);

    fs.writeFileSync(keyFile, 'c2hvcnQ=\n', { mode: 0o600 });
    await expectStoreError(store.load(), 'corrupt', /encryption key in .*session\.key is damaged \(expected 32 bytes, found 5\)/);

    fs.writeFileSync(keyFile, key, { mode: 0o600 });
    fs.writeFileSync(file, saved.slice(0, 40));
    await expectStoreError(store.load(), 'corrupt', /is damaged \(not valid JSON\)/);
  });

  it('tightens a key file that became readable by others', async () => {
    if (!posix) return;
    const { keyFile, store } = setup();
    await store.save(sampleTokens());
    fs.chmodSync(keyFile, 0o644);
    await store.load();
    expect(mode(keyFile).toString(8)).toBe('600');
  });

  it('decrypts with plain node:crypto given the key: the format is standard AES-256-GCM', async () => {
    const { file, keyFile, store } = setup();
    await store.save(sampleTokens());
    const envelope = JSON.parse(fs.readFileSync(file, 'utf8')) as { iv: string; tag: string; data: string };
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64'), Buffer.from(envelope.iv, 'base64'));
    decipher.setAAD(Buffer.from('bifrost-edge-session/1/aes-256-gcm/key-file'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString();
    expect(JSON.parse(plain)).toEqual(sampleTokens());
  });
});

/**
 * Stands in for Electron's safeStorage, which can't run in plain Node: real AES under a key the
 * "OS keychain" (this object) holds, and the Linux backend selection Electron reports.
 */
function fakeSafeStorage(options: { backend?: string; available?: boolean } = {}): SafeStorageLike & { key: Buffer } {
  const key = randomBytes(32);
  return {
    key,
    isEncryptionAvailable: () => options.available ?? true,
    getSelectedStorageBackend: () => options.backend ?? 'gnome_libsecret',
    encryptString(plainText) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from('v10'), iv, cipher.getAuthTag(), data]);
    },
    decryptString(encrypted) {
      if (encrypted.subarray(0, 3).toString() !== 'v10') throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      const decipher = createDecipheriv('aes-256-gcm', key, encrypted.subarray(3, 15));
      decipher.setAuthTag(encrypted.subarray(15, 31));
      return Buffer.concat([decipher.update(encrypted.subarray(31)), decipher.final()]).toString('utf8');
    },
  };
}

describe('SafeStorageTokenStore (Electron)', () => {
  it('round-trips through safeStorage with a 0600 file', async () => {
    const file = path.join(tempDir(), 'auth', 'session.safe-storage.json');
    const store = new SafeStorageTokenStore({ file, safeStorage: fakeSafeStorage(), platform: 'linux' });
    expect(store.describe()).toMatchObject({ backend: 'electron-safe-storage' });
    expect(store.describe().warning).toBeUndefined();
    await expectRoundTrip(store, [file]);
  });

  it('refuses the Linux basic_text backend with a message that says how to fix it', () => {
    const attempt = () => new SafeStorageTokenStore({ file: path.join(tempDir(), 'x.json'), safeStorage: fakeSafeStorage({ backend: 'basic_text' }), platform: 'linux' });
    expect(attempt).toThrow(TokenStoreError);
    expect(attempt).toThrow(/backend "basic_text".*hard-coded password.*GNOME Keyring or KWallet/);
    // basic_text is a Linux-only notion; other platforms go by isEncryptionAvailable().
    expect(() => new SafeStorageTokenStore({ file: path.join(tempDir(), 'x.json'), safeStorage: fakeSafeStorage({ backend: 'basic_text' }), platform: 'darwin' })).not.toThrow();
  });

  it('refuses when encryption is not available', () => {
    expect(() => new SafeStorageTokenStore({ file: path.join(tempDir(), 'x.json'), safeStorage: fakeSafeStorage({ available: false }), platform: 'darwin' })).toThrow(/encryption is not available/);
  });

  it('reports data the keychain can no longer decrypt as corrupt', async () => {
    const file = path.join(tempDir(), 'auth', 'session.safe-storage.json');
    await new SafeStorageTokenStore({ file, safeStorage: fakeSafeStorage(), platform: 'linux' }).save(sampleTokens());
    // A different keychain key (e.g. the OS keychain entry was reset).
    const other = new SafeStorageTokenStore({ file, safeStorage: fakeSafeStorage(), platform: 'linux' });
    await expectStoreError(other.load(), 'corrupt', /could not be decrypted by the OS keychain/);
  });
});

describe('createTokenStore', () => {
  it('uses Electron safeStorage when the app provides a usable one', async () => {
    const store = await createTokenStore({ dataDir: tempDir(), safeStorage: fakeSafeStorage(), platform: 'linux' });
    expect(store.describe().backend).toBe('electron-safe-storage');
  });

  it('falls back from basic_text safeStorage and says why', async () => {
    const dataDir = tempDir();
    const store = await createTokenStore({ dataDir, safeStorage: fakeSafeStorage({ backend: 'basic_text' }), platform: 'linux' });
    const description = store.describe();
    expect(description.backend).not.toBe('electron-safe-storage');
    expect(description.notes?.[0]).toMatch(/^Electron safeStorage not used: .*basic_text/);
  });

  it('headless Linux: Secret Service when secret-tool and a keyring work, else the encrypted file with a warning', async () => {
    const dataDir = tempDir();
    const secretService = new SecretServiceKeySource(runCommand, { application: 'bifrost-edge', purpose: 'session-key', 'data-dir': dataDir });
    const problem = await secretService.probe();
    const store = await createTokenStore({ dataDir, platform: 'linux' });
    const description = store.describe();
    if (problem) {
      expect(description.backend).toBe('encrypted-file');
      expect(description.warning).toBe(KEY_FILE_WARNING);
      expect(description.notes).toContain(`Secret Service keyring not used: ${problem}`);
      await expectRoundTrip(store, [path.join(authDirectory(dataDir), 'session.enc.json'), path.join(authDirectory(dataDir), 'session.key')]);
    } else {
      expect(description.backend).toBe('secret-service');
      expect(description.warning).toBeUndefined();
      await expectRoundTrip(store, [path.join(authDirectory(dataDir), 'session.secret-service.json')]);
      expect(await secretService.getKey(false)).toBeUndefined();
    }
  });

  it('reports a missing secret-tool in plain words', async () => {
    const missing = new SecretServiceKeySource(async () => ({ code: null, stdout: '', stderr: 'spawn secret-tool ENOENT', missing: true }), { application: 'bifrost-edge' });
    expect(await missing.probe()).toBe('secret-tool is not installed (package libsecret-tools)');
  });

  it('headless Windows: the encrypted file, with a note on why', async () => {
    const store = await createTokenStore({ dataDir: tempDir(), platform: 'win32' });
    expect(store.describe()).toMatchObject({ backend: 'encrypted-file', warning: KEY_FILE_WARNING });
    expect(store.describe().notes?.[0]).toMatch(/Windows Credential Manager is not used/);
  });
});
