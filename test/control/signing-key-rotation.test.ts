import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActivePolicy } from '../../src/control/client/active-policy.js';
import type { AdminSigningKeysResponse } from '../../src/control/protocol/admin-signing-keys.js';
import { signBundle } from '../../src/control/protocol/bundle-signature.js';
import type { SignedPolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import {
  ADA_KEY, activeSigningPrivateKey, captureLogger, keyringFile, tempDir, testLogger, waitFor, type ControlFixture,
} from './support/control-fixture.js';
import { startTamperingProxy } from './support/tampering-proxy.js';
import { adaEnrollment, nextBundle, syncTestHarness } from './support/sync-harness.js';

/**
 * Signing-key rotation end to end: a real control server, real device sync clients on real state
 * folders. The key ring changes through the admin API, exactly as `bifrost-edge control keys` does.
 */

const { cleanups, fixtureForTest, syncClient } = syncTestHarness();

async function keyStep(fixture: ControlFixture, step: 'rotate' | 'promote' | 'retire', body?: unknown): Promise<AdminSigningKeysResponse> {
  const answer = await fixture.admin('POST', `/api/edge/v1/admin/signing-keys/${step}`, step === 'retire' ? body ?? {} : undefined);
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return answer.json as AdminSigningKeysResponse;
}

function keyIdWith(ring: AdminSigningKeysResponse, status: string): string {
  const key = ring.keys.find((k) => k.status === status);
  if (!key) throw new Error(`no ${status} key in ${JSON.stringify(ring.keys)}`);
  return key.key_id;
}

const keyIds = (policy: ActivePolicy): string[] | undefined => policy.bundle.signing_keys?.map((k) => k.key_id);

async function savedTrust(stateDir: string): Promise<string[]> {
  const saved = JSON.parse(await fs.readFile(path.join(stateDir, 'enrollment.json'), 'utf8')) as { signing_keys: Array<{ key_id: string }> };
  return saved.signing_keys.map((k) => k.key_id);
}


describe('rotating the signing key under a connected device', () => {
  it('announces, promotes and retires without re-enrolling, then refuses a bundle signed by the retired key', async () => {
    const fixture = await fixtureForTest();
    const proxy = await startTamperingProxy(() => fixture.server.url);
    cleanups.push(() => proxy.close());
    const stateDir = await tempDir('device');
    const { log, lines } = captureLogger();
    const client = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log, timing: { minPollSeconds: 60 } });
    const first = await waitFor(() => client.current(), 5_000, 'the first bundle');
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    const deviceId = client.enrolledDevice()!.deviceId;
    const oldKey = fixture.server.signingKey.key_id;
    expect(first.signed?.signature.key_id).toBe(oldKey);
    expect(keyIds(first)).toEqual([oldKey]);
    // Kept before retirement, so the test can forge with the retired key afterwards.
    const oldPrivate = await activeSigningPrivateKey(fixture);

    // 1. Announce: the new key arrives inside a bundle signed by the key the device already trusts.
    const announcedArrives = nextBundle(client);
    const afterRotate = await keyStep(fixture, 'rotate');
    const newKey = keyIdWith(afterRotate, 'next');
    expect(afterRotate.republished_devices).toBe(1);
    const announced = await announcedArrives;
    expect(announced.signed?.signature.key_id).toBe(oldKey);
    expect(keyIds(announced)).toEqual([oldKey, newKey]);
    expect(await savedTrust(stateDir)).toEqual([oldKey, newKey]);

    // The device reports what it enforces; the admin sees it is up to date before promoting.
    await client.sendHeartbeat({ agent_version: 'test', policy_version: announced.bundle.version, policy_source: 'edge-control' });
    expect((await fixture.admin('GET', '/api/edge/v1/admin/signing-keys')).json).toMatchObject({ devices: { total: 1, up_to_date: 1 } });

    // 2. Promote: every device gets its bundle re-signed by the new key, and accepts it.
    const promotedArrives = nextBundle(client);
    const afterPromote = await keyStep(fixture, 'promote');
    expect(keyIdWith(afterPromote, 'active')).toBe(newKey);
    expect(keyIdWith(afterPromote, 'previous')).toBe(oldKey);
    expect(fixture.server.signingKey.key_id).toBe(newKey);
    const promoted = await promotedArrives;
    expect(promoted.signed?.signature.key_id).toBe(newKey);
    expect(promoted.bundle.version).toBe(announced.bundle.version + 1);

    // Policy keeps flowing under the new key, with the same enrollment.
    const editedArrives = nextBundle(client);
    await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' });
    const edited = await editedArrives;
    expect(edited.bundle.fail_mode).toBe('open');
    expect(edited.signed?.signature.key_id).toBe(newKey);
    expect(client.enrolledDevice()!.deviceId).toBe(deviceId);

    // 3. Retire: the old key leaves the announced set, the device's trusted set, and the disk.
    const retiredArrives = nextBundle(client);
    const afterRetire = await keyStep(fixture, 'retire');
    expect(afterRetire.keys.find((k) => k.key_id === oldKey)).toMatchObject({ status: 'retired', retired_at: expect.any(String) });
    const retired = await retiredArrives;
    expect(keyIds(retired)).toEqual([newKey]);
    expect(await savedTrust(stateDir)).toEqual([newKey]);
    const ring = await fs.readFile(keyringFile(fixture), 'utf8');
    expect((JSON.parse(ring) as { keys: Array<{ key_id: string; private_key_pem?: string }> }).keys.find((k) => k.key_id === oldKey)?.private_key_pem).toBeUndefined();
    expect(lines.filter((l) => /enrolled with Edge Control/.test(l))).toHaveLength(1);

    // Whoever kept the retired key's private part can no longer issue policy to the device.
    proxy.replacePolicy = (real) => {
      const bundle = (real as SignedPolicyBundle).bundle;
      return signBundle({ ...bundle, version: bundle.version + 1, fail_mode: 'closed' }, oldPrivate);
    };
    lines.length = 0;
    expect(await client.syncNow()).toBe('rejected');
    expect(lines.join('')).toMatch(new RegExp(`signed with key ${oldKey}, which this device does not trust`));
    // An unknown signer makes the device enroll again once (it may have missed a rotation)…
    await waitFor(() => lines.some((l) => /even a fresh enrollment's keys do not include/.test(l)), 5_000, 'the second refusal after re-enrolling');
    // …but the fresh enrollment does not vouch for the retired key either: refused for good, policy kept.
    expect(client.current()?.bundle.fail_mode).toBe('open');
    expect(client.current()?.signed?.signature.key_id).toBe(newKey);
    expect(lines.filter((l) => /enrolled with Edge Control/.test(l))).toHaveLength(1);
    expect(client.enrolledDevice()!.deviceId).not.toBe(deviceId);
    lines.length = 0;
    expect(await client.syncNow()).toBe('rejected');
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.some((l) => /enrolled with Edge Control/.test(l))).toBe(false);

    proxy.replacePolicy = undefined;
    expect(await client.syncNow()).not.toBe('rejected');
    expect(client.current()?.signed?.signature.key_id).toBe(newKey);
  });

  it('keeps the announced key across a device restart between announcement and promotion', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const before = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing: { minPollSeconds: 60 } });
    await waitFor(() => before.current(), 5_000, 'the first bundle');
    await waitFor(() => before.isStreaming(), 5_000, 'the push stream');
    const deviceId = before.enrolledDevice()!.deviceId;
    const announcedArrives = nextBundle(before);
    const newKey = keyIdWith(await keyStep(fixture, 'rotate'), 'next');
    await announcedArrives;
    await before.close();

    // While the device is off, the server switches keys.
    await keyStep(fixture, 'promote');
    expect(await savedTrust(stateDir)).toContain(newKey);

    const { log, lines } = captureLogger();
    const after = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log, timing: { minPollSeconds: 60 } });
    const resigned = await waitFor(() => (after.current()?.signed?.signature.key_id === newKey ? after.current() : undefined), 5_000, 'the bundle signed by the new key');
    expect(resigned.origin).toBe('network');
    expect(after.enrolledDevice()!.deviceId).toBe(deviceId);
    expect(lines.join('')).not.toMatch(/refused a policy bundle|enrolled with Edge Control/);
  });
});

describe('a device that missed the whole rotation', () => {
  it('says why it refuses the new signer, enrolls again, and accepts the new key from the enrollment answer', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const before = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const last = await waitFor(() => before.current(), 5_000, 'the first bundle');
    const oldDevice = before.enrolledDevice()!.deviceId;
    const oldKey = fixture.server.signingKey.key_id;
    await before.close();

    const newKey = keyIdWith(await keyStep(fixture, 'rotate'), 'next');
    await keyStep(fixture, 'promote');
    await keyStep(fixture, 'retire');

    const { log, lines } = captureLogger();
    const after = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log, timing: { backoff: { initialMs: 100, maxMs: 400 } } });
    // The cached bundle is still good (it was signed by the key the device trusts): enforced at once.
    expect(after.current()).toMatchObject({ origin: 'cache', etag: last.etag });
    const fresh = await waitFor(() => (after.current()?.origin === 'network' ? after.current() : undefined), 10_000, 'a bundle from the re-enrolled device');
    const log_ = lines.join('');
    expect(log_).toMatch(new RegExp(`refused a policy bundle from the control server: bundle is signed with key ${newKey}, which this device does not trust \\(trusted: ${oldKey}\\)`));
    expect(log_).toMatch(/rotated its signing key while this device was offline. Enrolling again/);
    expect(fresh.signed?.signature.key_id).toBe(newKey);
    expect(fresh.bundle.version).toBeGreaterThan(last.bundle.version);
    expect(after.enrolledDevice()!.deviceId).not.toBe(oldDevice);
    expect(await savedTrust(stateDir)).toEqual([newKey]);
  });
});

describe('pinned signing keys during a rotation', () => {
  it('warns when an unpinned key is announced, and refuses its bundles after promotion without re-enrolling', async () => {
    const fixture = await fixtureForTest();
    const { log, lines } = captureLogger();
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log, timing: { minPollSeconds: 60 },
      pinnedPublicKeys: [fixture.server.signingKey.public_key_pem],
    });
    await waitFor(() => client.current(), 5_000, 'the first bundle');
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    const deviceId = client.enrolledDevice()!.deviceId;

    const announced = nextBundle(client);
    const newKey = keyIdWith(await keyStep(fixture, 'rotate'), 'next');
    await announced;
    expect(lines.join('')).toMatch(new RegExp(`announces signing key\\(s\\) ${newKey}, which this device does not trust because it trusts only its pinned keys; push the new public key in control.pinnedPublicKeys`));

    const version = client.current()!.bundle.version;
    lines.length = 0;
    await keyStep(fixture, 'promote');
    await waitFor(() => lines.some((l) => /not among this device's pinned keys/.test(l)), 5_000, 'the refusal of the promoted key');
    expect(client.current()?.bundle.version).toBe(version);
    expect(client.enrolledDevice()!.deviceId).toBe(deviceId);
    expect(lines.join('')).not.toMatch(/enrolled with Edge Control/);
  });
});

describe('the server\'s key ring', () => {
  it('survives a restart, owner-only on disk, and new enrollments trust every announced key', async () => {
    const fixture = await fixtureForTest();
    const rotated = await keyStep(fixture, 'rotate');
    await keyStep(fixture, 'promote');
    const listed = (await fixture.admin('GET', '/api/edge/v1/admin/signing-keys')).json as AdminSigningKeysResponse;
    const active = fixture.server.signingKey.key_id;
    expect(active).toBe(keyIdWith(rotated, 'next'));

    await fixture.server.close();
    const restarted = await fixture.restart();
    expect(restarted.signingKey.key_id).toBe(active);
    expect(((await fixture.admin('GET', '/api/edge/v1/admin/signing-keys')).json as AdminSigningKeysResponse).keys).toEqual(listed.keys);
    expect((await fs.stat(keyringFile(fixture))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(keyringFile(fixture)))).mode & 0o777).toBe(0o700);

    const enrolled = await fetch(`${restarted.url}/api/edge/v1/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'new-laptop' } }),
    });
    const answer = await enrolled.json() as { signing_keys: Array<{ key_id: string }> };
    expect(answer.signing_keys.map((k) => k.key_id)).toEqual([active, keyIdWith(listed, 'previous')]);
  });

  it('starts from the key file of a server that predates rotation, and deletes that file when its key is retired', async () => {
    const legacyDir = await tempDir('legacy');
    cleanups.push(() => fs.rm(legacyDir, { recursive: true, force: true }));
    const legacyFile = path.join(legacyDir, 'signing-key.pem');
    const legacy = generateKeyPairSync('ed25519');
    await fs.writeFile(legacyFile, legacy.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o644 });
    const fixture = await fixtureForTest({ config: { signing_key_file: legacyFile } });
    // Devices enrolled before the upgrade keep trusting the same key.
    expect(fixture.server.signingKey.public_key_pem).toBe(legacy.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(keyringFile(fixture)).toBe(path.join(legacyDir, 'signing-key.keyring.json'));
    expect((await fs.stat(legacyFile)).mode & 0o777).toBe(0o600);

    await keyStep(fixture, 'rotate');
    await keyStep(fixture, 'promote');
    await fs.stat(legacyFile);
    await keyStep(fixture, 'retire');
    // The retired private key must not linger in the old file either.
    await expect(fs.stat(legacyFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses steps that make no sense, and admin calls without the admin token', async () => {
    const fixture = await fixtureForTest();
    const active = fixture.server.signingKey.key_id;
    const refusals: Array<[string, unknown, number, RegExp]> = [
      ['promote', undefined, 409, /no next key is announced; run keys rotate first/],
      ['retire', {}, 409, /no previous key to retire/],
      ['retire', { key_id: active }, 409, /is the active key and signs every bundle/],
      ['retire', { key_id: 'ed25519:0000' }, 404, /there is no signing key ed25519:0000/],
    ];
    for (const [step, body, status, message] of refusals) {
      const answer = await fixture.admin('POST', `/api/edge/v1/admin/signing-keys/${step}`, body);
      expect(answer.status, `${step} ${JSON.stringify(body)}`).toBe(status);
      expect((answer.json as { error: { message: string } }).error.message).toMatch(message);
    }
    await keyStep(fixture, 'rotate');
    const twice = await fixture.admin('POST', '/api/edge/v1/admin/signing-keys/rotate');
    expect(twice.status).toBe(409);
    expect(twice.json).toMatchObject({ error: { type: 'signing_key_conflict' } });

    const anonymous = await fetch(`${fixture.server.url}/api/edge/v1/admin/signing-keys/rotate`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${fixture.server.url}/api/edge/v1/admin/signing-keys`, { headers: { authorization: 'Bearer not-the-admin-token' } });
    expect(wrong.status).toBe(403);
  });
});
