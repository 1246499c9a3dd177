import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncryptedFileTokenStore } from '../../src/auth/encrypted-file-token-store.js';
import { KeyFileSource } from '../../src/auth/encryption-keys.js';
import type { CommandResult, CommandRunner } from '../../src/auth/run-command.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { createDeviceCredentialStore } from '../../src/control/client/create-device-credential-store.js';
import { DeviceCredentialStoreError, type DeviceCredentialStore } from '../../src/control/client/device-credential-store.js';
import { TokenStoreCredentialStore } from '../../src/control/client/token-store-credential-store.js';
import { ADA_KEY, captureLogger, tempDir, testLogger, waitFor } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';

/**
 * The device credential at rest: kept out of enrollment.json, in a store from src/auth (encrypted
 * file, Secret Service keyring) through the adapter; migrated from the plain-text file older agents
 * wrote; and a store that cannot be read makes the device enroll again instead of running without one.
 */

const { fixtureForTest, syncClient } = syncTestHarness();

function encryptedFileStore(stateDir: string): DeviceCredentialStore {
  return new TokenStoreCredentialStore(new EncryptedFileTokenStore({
    file: path.join(stateDir, 'device-credential.enc.json'),
    keySource: new KeyFileSource(path.join(stateDir, 'device-credential.key')),
  }));
}

/** Every file under `dir` whose bytes contain `secret`. */
async function filesContaining(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(secret)) found.push(path.relative(dir, file));
  }
  return found;
}

/**
 * `secret-tool` with an in-memory keyring that can be locked, as GNOME Keyring is after a reboot
 * until someone unlocks it: lookups then fail with an error message instead of "not found".
 */
function fakeSecretService(): { run: CommandRunner; lock(): void; items: Map<string, string> } {
  const items = new Map<string, string>();
  let locked = false;
  const answer = (code: number, stdout = '', stderr = ''): CommandResult => ({ code, stdout, stderr });
  const run: CommandRunner = async (file, args, options = {}) => {
    if (file !== 'secret-tool') return { code: null, stdout: '', stderr: `${file}: not found`, missing: true };
    const [command, ...rest] = args;
    const attributes = rest.filter((a) => !a.startsWith('--label=')).join(' ');
    if (locked) return answer(1, '', 'secret-tool: Cannot get secret of a locked object\n');
    if (command === 'lookup') return items.has(attributes) ? answer(0, items.get(attributes)) : answer(1);
    if (command === 'store') {
      items.set(attributes, options.input ?? '');
      return answer(0);
    }
    if (command === 'clear') return answer(items.delete(attributes) ? 0 : 1);
    return answer(2, '', `unknown command ${command}`);
  };
  return { run, lock: () => { locked = true; }, items };
}

describe('migration of a plain-text credential', () => {
  it('moves the credential out of an older enrollment.json into the encrypted store, keeping the enrollment', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    // What an agent before protected storage left behind: the credential inside enrollment.json.
    const answer = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'ada-laptop' } });
    const legacy = {
      control_url: fixture.server.url,
      device_id: answer.device_id,
      device_credential: answer.device_credential,
      subject: answer.subject,
      signing_keys: answer.signing_keys,
      poll_interval_seconds: answer.poll_interval_seconds,
      enrolled_at: new Date().toISOString(),
    };
    await fs.writeFile(path.join(stateDir, 'enrollment.json'), JSON.stringify(legacy, null, 2), { mode: 0o600 });

    const { log, lines } = captureLogger();
    const store = encryptedFileStore(stateDir);
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, credentialStore: store, log });
    expect(client.enrolledDevice()).toEqual({ controlUrl: fixture.server.url, deviceId: answer.device_id, credential: answer.device_credential });
    await waitFor(() => client.current(), 5_000, 'a bundle fetched with the migrated credential');
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');

    expect(lines.join('')).toMatch(/moved the device credential out of enrollment.json into protected storage/);
    expect(lines.join('')).not.toMatch(/enrolled with Edge Control/);
    const rewritten = JSON.parse(await fs.readFile(path.join(stateDir, 'enrollment.json'), 'utf8')) as Record<string, unknown>;
    const { device_credential: _secret, ...withoutCredential } = legacy;
    expect(rewritten).toEqual(withoutCredential);
    expect(await store.load()).toEqual({ controlUrl: fixture.server.url, deviceId: answer.device_id, credential: answer.device_credential });
    // The encrypted file holds ciphertext only; no file in the folder has the credential in the clear.
    expect(await filesContaining(stateDir, answer.device_credential)).toEqual([]);
    expect((await fs.stat(path.join(stateDir, 'device-credential.enc.json'))).mode & 0o777).toBe(0o600);

    // A restart reads it back from the store, still without enrolling again.
    await client.close();
    const again = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, credentialStore: encryptedFileStore(stateDir), log: testLogger() });
    expect(again.enrolledDevice()?.deviceId).toBe(answer.device_id);
  });

  it('moves a credential from the default plain file when a protected store is configured later', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const plain = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const device = await plain.whenEnrolled();
    await plain.close();
    expect(await filesContaining(stateDir, device.credential)).toEqual(['device-credential.json']);

    const { log, lines } = captureLogger();
    const store = encryptedFileStore(stateDir);
    const protectedClient = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, credentialStore: store, log });
    expect(protectedClient.enrolledDevice()?.deviceId).toBe(device.deviceId);
    expect(lines.join('')).toMatch(/moved the device credential into protected storage/);
    expect(await filesContaining(stateDir, device.credential)).toEqual([]);
    expect(await store.load()).toMatchObject({ credential: device.credential });
  });
});

describe('the credential stays out of the state file', () => {
  it('with the default store, only device-credential.json (0600) holds it, also after the trusted keys change', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing: { minPollSeconds: 60 } });
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    const { credential } = client.enrolledDevice()!;
    // A rotation announcement rewrites enrollment.json with the new trusted keys.
    await fixture.admin('POST', '/api/edge/v1/admin/signing-keys/rotate');
    await waitFor(async () => (JSON.parse(await fs.readFile(path.join(stateDir, 'enrollment.json'), 'utf8')) as { signing_keys: unknown[] }).signing_keys.length === 2, 5_000, 'the announced key to be saved');
    expect(await filesContaining(stateDir, credential)).toEqual(['device-credential.json']);
    expect((await fs.stat(path.join(stateDir, 'device-credential.json'))).mode & 0o777).toBe(0o600);
  });

  it('with the encrypted-file store, no file on disk contains the credential', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const store = await createDeviceCredentialStore({ stateDir, platform: 'win32' });
    expect(store.describe()).toMatchObject({ backend: 'encrypted-file', warning: expect.stringMatching(/device credential is stored in an encrypted file whose key is in another file/) });
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, credentialStore: store, log: testLogger() });
    const device = await client.whenEnrolled();
    await waitFor(() => client.current(), 5_000, 'the first bundle');
    expect(await filesContaining(stateDir, device.credential)).toEqual([]);
    expect(await store.load()).toMatchObject({ deviceId: device.deviceId, credential: device.credential });
    const onDisk = await fs.readFile(path.join(stateDir, 'device-credential.enc.json'), 'utf8');
    expect(JSON.parse(onDisk)).toMatchObject({ cipher: 'aes-256-gcm', keySource: 'key-file' });
  });
});

describe('a credential store that cannot be read', () => {
  it('logs why, enrolls again instead of running without a credential, and keeps the new one in memory while the keyring stays locked', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const keyring = fakeSecretService();
    const store = await createDeviceCredentialStore({ stateDir, platform: 'linux', runCommand: keyring.run });
    expect(store.describe().backend).toBe('secret-service');
    const first = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, credentialStore: store, log: testLogger() });
    const enrolled = await first.whenEnrolled();
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    await first.close();
    expect(keyring.items.size).toBe(1);
    expect(await filesContaining(stateDir, enrolled.credential)).toEqual([]);

    keyring.lock();
    const { log, lines } = captureLogger();
    const second = await syncClient({
      controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log, timing: { backoff: { initialMs: 100, maxMs: 400 } },
      credentialStore: await createDeviceCredentialStore({ stateDir, platform: 'linux', runCommand: keyring.run }),
    });
    // Not enrolled with an unreadable credential; the cached policy (verified by the saved keys) holds meanwhile.
    expect(second.enrolledDevice()).toBeUndefined();
    expect(second.current()).toMatchObject({ origin: 'cache', etag: cached.etag });
    const reenrolled = await second.whenEnrolled();
    expect(reenrolled.deviceId).not.toBe(enrolled.deviceId);
    await waitFor(() => second.current()?.origin === 'network', 5_000, 'a bundle under the new enrollment');

    const logged = lines.join('');
    expect(logged).toMatch(/ERROR cannot read this device's Edge Control credential: cannot read the device credential \(secret-service store\): The keychain holding the sign-in key \(Secret Service item .*\) is not usable: exit 1: secret-tool: Cannot get secret of a locked object\. Unlock your keychain\/keyring and try again\. Enrolling the device again, since it never runs without a credential/);
    expect(logged).toMatch(/could not store this device's Edge Control credential .*locked object.*; it is kept in memory for this run only, and the device will enroll again at its next start/);
    // Never a plain-text fallback: the new credential is on no disk.
    expect(await filesContaining(stateDir, reenrolled.credential)).toEqual([]);
  });

  it('refuses a token-store record that is not a device credential (a store shared with the sign-in)', async () => {
    const stateDir = await tempDir('device');
    const tokens = new EncryptedFileTokenStore({ file: path.join(stateDir, 'session.enc.json'), keySource: new KeyFileSource(path.join(stateDir, 'session.key')) });
    await tokens.save({
      version: 1, issuer: 'https://idp.example.com', clientId: 'edge', accessToken: 'at', tokenType: 'Bearer', idToken: 'id', idTokenClaims: { sub: 'ada' }, receivedAt: Date.now(),
    });
    const error = await new TokenStoreCredentialStore(tokens).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCredentialStoreError);
    expect((error as DeviceCredentialStoreError).message).toMatch(/holds a Bearer token, not a device credential/);
  });
});
