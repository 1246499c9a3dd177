import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActivePolicy } from '../../src/control/client/active-policy.js';
import { startPolicySync } from '../../src/control/client/policy-sync-client.js';
import { signBundle } from '../../src/control/protocol/bundle-signature.js';
import type { SignedPolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { startBifrostStandin } from '../support/bifrost-standin.js';
import { ADA_KEY, ENGINEERING_KEY, GATEWAY_ADMIN, activeSigningPrivateKey, captureLogger, tempDir, testLogger, waitFor } from './support/control-fixture.js';
import { decisionFor } from './support/policy-decision.js';
import { startTamperingProxy, type TamperingProxy } from './support/tampering-proxy.js';
import { adaEnrollment, nextBundle, syncTestHarness } from './support/sync-harness.js';

const { cleanups, fixtureForTest, syncClient } = syncTestHarness();

describe('push: an admin edit reaches a running device', () => {
  it('delivers an edited policy through the push stream in under 5 s', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    // Polling every 60 s at the earliest: only the push stream can deliver within the test's window.
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing: { minPollSeconds: 60 } });
    const first = await waitFor(() => client.current(), 5_000, 'the first bundle');
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    expect(first.bundle.fail_mode).toBe('closed');
    expect(first.bundle.virtual_keys.map((k) => k.id)).toEqual(['vk-ada']);
    expect(decisionFor(first.bundle, 'gpt-4o-mini', 'MyTool/1.0')).toBe('allow');

    const arrived = nextBundle(client);
    const editedAt = Date.now();
    const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', {
      fail_mode: 'open',
      intercept_hosts: ['api.openai.com', 'api.anthropic.com'],
      apps: { catalog: [{ id: 'mytool', name: 'MyTool', status: 'denied', match: { user_agents: ['^MyTool/'] } }] },
      sync: { poll_interval_seconds: 5 },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ republished_devices: 1 });

    const updated = await arrived;
    const elapsed = Date.now() - editedAt;
    expect(elapsed).toBeLessThan(5_000);
    expect(updated.bundle.version).toBe(first.bundle.version + 1);
    expect(updated.bundle.fail_mode).toBe('open');
    expect(updated.bundle.intercept_hosts).toContain('api.anthropic.com');
    expect(updated.bundle.apps.catalog[0]).toMatchObject({ id: 'mytool', status: 'denied' });
    // The device's policy engine now refuses what it allowed a moment ago.
    expect(decisionFor(updated.bundle, 'gpt-4o-mini', 'MyTool/1.0')).toBe('block');
    expect(decisionFor(updated.bundle, 'gpt-4o-mini', 'curl/8.5.0')).toBe('allow');
    expect(client.current()).toBe(updated);

    const template = await fixture.admin('GET', '/api/edge/v1/admin/policy');
    expect(template.json).toMatchObject({ revision: 2, template: { fail_mode: 'open' } });
  });

  it('republishes when virtual keys change at the gateway, but not for usage counters', async () => {
    const fixture = await fixtureForTest();
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log: testLogger(), timing: { minPollSeconds: 60 } });
    const first = await waitFor(() => client.current(), 5_000, 'the first bundle');
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    expect(decisionFor(first.bundle, 'gpt-4.1')).toBe('block');

    // Usage moves with traffic; it is not policy and must not churn versions on every device.
    fixture.standin.setVirtualKeys([{ ...ADA_KEY, budgets: [{ max_limit: 50, reset_duration: '1M', current_usage: 42 }] }, ENGINEERING_KEY]);
    await fixture.server.refreshGatewayKeys();
    const devices = await fixture.admin('GET', '/api/edge/v1/admin/devices');
    expect(devices.json).toMatchObject({ devices: [{ latest_policy_version: first.bundle.version, connected_streams: 1 }] });

    const arrived = nextBundle(client);
    const changedAt = Date.now();
    fixture.standin.setVirtualKeys([{ ...ADA_KEY, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini', 'gpt-4.1'] }] }, ENGINEERING_KEY]);
    const updated = await arrived;
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    expect(updated.bundle.version).toBe(first.bundle.version + 1);
    expect(updated.bundle.virtual_keys[0]?.provider_configs[0]?.allowed_models).toEqual(['gpt-4o-mini', 'gpt-4.1']);
    expect(decisionFor(updated.bundle, 'gpt-4.1')).toBe('allow');

    const disabled = nextBundle(client);
    fixture.standin.setVirtualKeys([{ ...ADA_KEY, is_active: false }, ENGINEERING_KEY]);
    expect((await disabled).bundle.virtual_keys[0]?.is_active).toBe(false);
  });

  it('falls back to polling when the push stream cannot connect', async () => {
    const fixture = await fixtureForTest();
    const proxy = await startTamperingProxy(() => fixture.server.url);
    cleanups.push(() => proxy.close());
    proxy.blockStream = true;
    const client = await syncClient({
      controlUrl: proxy.url, stateDir: await tempDir('device'), credential: adaEnrollment, log: testLogger(),
      // Reconnect attempts (each also fetches once) are rare here, so the poll timer has to do the work.
      timing: { backoff: { initialMs: 60_000, maxMs: 60_000 } },
    });
    const first = await waitFor(() => client.current(), 5_000, 'the first bundle');
    expect(client.isStreaming()).toBe(false);
    const arrived = nextBundle(client);
    await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open', sync: { poll_interval_seconds: 5 } });
    const updated = await arrived;
    expect(updated.bundle.version).toBe(first.bundle.version + 1);
  }, 20_000);
});

describe('refusing bad bundles', () => {
  it('refuses tampered, replayed-older, same-version-different, foreign-signed and malformed bundles, keeping the last good one', async () => {
    const fixture = await fixtureForTest();
    const proxy: TamperingProxy = await startTamperingProxy(() => fixture.server.url);
    cleanups.push(() => proxy.close());
    const stateDir = await tempDir('device');
    const { log, lines } = captureLogger();
    // Pinned to the server's key: an unpinned device would answer the foreign-signed case by enrolling
    // again (it may have missed a key rotation), which signing-key-rotation.test.ts covers.
    const client = await syncClient({
      controlUrl: proxy.url, stateDir, credential: adaEnrollment, log, timing: { minPollSeconds: 60 },
      pinnedPublicKeys: [fixture.server.signingKey.public_key_pem],
    });
    const older = await waitFor(() => client.current(), 5_000, 'the first bundle');
    const arrived = nextBundle(client);
    await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'closed', content_retention: { mode: 'none' } });
    const good = await arrived;
    expect(good.bundle.version).toBe(older.bundle.version + 1);
    const cacheFile = path.join(stateDir, 'policy-bundle.json');
    const cachedBefore = await fs.readFile(cacheFile, 'utf8');

    const serverKey = await activeSigningPrivateKey(fixture);
    const foreignKey = generateKeyPairSync('ed25519').privateKey;
    const cases: Array<{ name: string; replace: (real: unknown) => unknown; outcome: string; logged: RegExp }> = [
      {
        name: 'tampered content under a valid signature',
        replace: (real) => {
          const signed = structuredClone(real) as SignedPolicyBundle;
          signed.bundle.fail_mode = 'open';
          signed.bundle.version += 5;
          return signed;
        },
        outcome: 'rejected',
        logged: /signature .* does not match the bundle content/,
      },
      { name: 'an older, genuinely signed bundle (replay)', replace: () => older.signed, outcome: 'rejected', logged: /older than the enforced version/ },
      {
        name: 'same version, different content, signed by the server key',
        replace: (real) => signBundle({ ...(real as SignedPolicyBundle).bundle, fail_mode: 'open' }, serverKey),
        outcome: 'rejected',
        logged: /same version/,
      },
      {
        name: 'a newer bundle signed by a key the device does not trust',
        replace: (real) => signBundle({ ...(real as SignedPolicyBundle).bundle, version: 999 }, foreignKey),
        outcome: 'rejected',
        logged: /does not trust/,
      },
      { name: 'a malformed bundle', replace: () => ({ bundle: { schema: 'nope' }, signature: { alg: 'Ed25519' } }), outcome: 'rejected', logged: /malformed bundle/ },
      { name: 'a body that is not JSON', replace: () => 'garbage{', outcome: 'failed', logged: /not JSON/ },
    ];
    for (const c of cases) {
      proxy.replacePolicy = c.replace;
      lines.length = 0;
      expect(await client.syncNow(), c.name).toBe(c.outcome);
      expect(lines.join(''), c.name).toMatch(c.logged);
      expect(client.current()?.bundle.version, c.name).toBe(good.bundle.version);
      expect(client.current()?.bundle.fail_mode, c.name).toBe('closed');
    }
    expect(proxy.substitutions).toBe(cases.length);
    expect(await fs.readFile(cacheFile, 'utf8')).toBe(cachedBefore);

    proxy.replacePolicy = undefined;
    expect(await client.syncNow()).toBe('unchanged');
  });
});

describe('pinned signing keys', () => {
  it('trusts only pinned keys when configured, whatever the server offers at enrollment', async () => {
    const fixture = await fixtureForTest();
    const pinnedRight = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log: testLogger(),
      pinnedPublicKeys: [fixture.server.signingKey.public_key_pem],
    });
    await waitFor(() => pinnedRight.current(), 5_000, 'a bundle under the right pin');

    const { log, lines } = captureLogger();
    const wrongPin = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pinnedWrong = await syncClient({ controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log, pinnedPublicKeys: [wrongPin] });
    await waitFor(() => pinnedWrong.enrolledDevice(), 5_000, 'enrollment');
    expect(await pinnedWrong.syncNow()).toBe('rejected');
    expect(pinnedWrong.current()).toBeUndefined();
    expect(lines.join('')).toMatch(/which this device does not trust/);
  });
});

describe('re-enrollment', () => {
  it('enrolls again when the server no longer knows the device, and keeps versions going up', async () => {
    const fixture = await fixtureForTest();
    const { log, lines } = captureLogger();
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log,
      timing: { backoff: { initialMs: 100, maxMs: 400 } },
    });
    await waitFor(() => client.isStreaming(), 5_000, 'the push stream');
    // Bump the version a few times so that a fresh server's "version 1" would be a step back.
    for (const mode of ['open', 'closed', 'open'] as const) {
      const arrived = nextBundle(client);
      await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: mode });
      await arrived;
    }
    const before = client.current()!;
    const oldDevice = client.enrolledDevice()!.deviceId;

    // The server comes back with an empty database (same signing key): it has never heard of this device.
    await fixture.server.close();
    const arrived = nextBundle(client);
    await fixture.restart({ listen: { port: fixture.server.port }, storage: { sqlite_path: `${fixture.dir}/replacement.db` } });
    const after = await arrived;
    expect(client.enrolledDevice()!.deviceId).not.toBe(oldDevice);
    expect(after.bundle.version).toBe(before.bundle.version + 1);
    expect(after.bundle.fail_mode).toBe('closed');
    expect(lines.join('')).toMatch(/rejected this device's credential .*enrolling again/);
  });
});

describe('offline restart', () => {
  it('enforces the cached bundle when restarted with the server down, and reconnects when it is back', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const first = await startPolicySync({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const synced = await waitFor(() => first.current(), 5_000, 'the first bundle');
    await first.close();
    const port = fixture.server.port;
    const url = fixture.server.url;
    await fixture.server.close();

    const stat = await fs.stat(path.join(stateDir, 'policy-bundle.json'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(stateDir, 'enrollment.json'))).mode & 0o777).toBe(0o600);

    const { log, lines } = captureLogger();
    const restarted = await syncClient({ controlUrl: url, stateDir, credential: adaEnrollment, log, timing: { backoff: { initialMs: 100, maxMs: 400 } } });
    // Enforced straight from start(), before any network call could have succeeded.
    expect(restarted.current()).toMatchObject({ source: 'edge-control', origin: 'cache', etag: synced.etag });
    expect(restarted.current()?.bundle).toEqual(synced.bundle);
    await waitFor(() => lines.some((l) => /cannot reach the Edge Control server/.test(l)), 5_000, 'a logged fetch failure');
    expect(restarted.current()?.bundle.version).toBe(synced.bundle.version);

    await fixture.restart({ listen: { port } });
    await waitFor(() => restarted.isStreaming(), 10_000, 'the push stream to reconnect');
    await waitFor(() => restarted.current()?.origin === 'network', 5_000, 'the cached bundle to be confirmed');
    expect(restarted.current()?.bundle.version).toBe(synced.bundle.version);
  });

  it('refuses a cache file edited on disk', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const first = await startPolicySync({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    await waitFor(() => first.current(), 5_000, 'the first bundle');
    await first.close();
    await fixture.server.close();

    const cacheFile = path.join(stateDir, 'policy-bundle.json');
    const cached = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { signed: SignedPolicyBundle };
    cached.signed.bundle.fail_mode = 'open';
    await fs.writeFile(cacheFile, JSON.stringify(cached));
    const { log, lines } = captureLogger();
    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, log });
    expect(restarted.current()).toBeUndefined();
    expect(lines.join('')).toMatch(/refused a policy bundle from the local cache: .*signature/);
  });
});

describe('gateway unreachable when the control server starts', () => {
  it('answers policy_not_ready instead of publishing bundles without keys, and recovers when the gateway is back', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const first = await startPolicySync({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const synced = await waitFor(() => first.current(), 5_000, 'the first bundle');
    const credential = first.enrolledDevice()!.credential;
    await first.close();

    const gatewayPort = fixture.standin.port;
    await fixture.server.close();
    await fixture.standin.close();
    const server = await fixture.restart({ listen: { port: fixture.server.port } });
    const getPolicy = () => fetch(`${server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${credential}` } });

    const refused = await getPolicy();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { type: 'policy_not_ready', message: expect.stringMatching(/cannot reach the gateway/) } });
    expect(await (await fetch(`${server.url}/api/edge/v1/health`)).json()).toMatchObject({ status: 'starting' });

    const gateway = await startBifrostStandin({ port: gatewayPort, virtualKeys: [ADA_KEY, ENGINEERING_KEY], adminAuth: GATEWAY_ADMIN });
    cleanups.push(() => gateway.close());
    const recovered = await waitFor(async () => {
      const res = await getPolicy();
      return res.status === 200 ? (await res.json()) as SignedPolicyBundle : undefined;
    }, 5_000, 'the policy once the gateway is back');
    // Same keys and template: the device keeps its version, nothing is republished.
    expect(recovered.bundle.version).toBe(synced.bundle.version);
  });
});

describe('another person signs in', () => {
  it('stops using the previous person\'s keys and identity at once, and takes the new person\'s bundle when it arrives', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    let person: string = ADA_KEY.value;
    const client = await syncClient({
      controlUrl: fixture.server.url, stateDir, log: testLogger(),
      credential: async () => ({ method: 'virtual_key', virtual_key: person }),
      timing: { backoff: { initialMs: 100, maxMs: 400 } },
    });
    const ada = await waitFor(() => client.current(), 5_000, 'Ada\'s bundle');
    expect(ada.bundle).toMatchObject({ subject: { sub: 'virtual-key:vk-ada' }, active_virtual_key_id: 'vk-ada' });
    expect(await fs.stat(path.join(stateDir, 'policy-bundle.json')).then(() => true)).toBe(true);

    // The laptop is offline when the engineering account signs in: the new enrollment cannot complete.
    const port = fixture.server.port;
    await fixture.server.close();
    person = ENGINEERING_KEY.value;
    const emitted: ActivePolicy[] = [];
    client.onBundle((policy) => emitted.push(policy));
    await client.signedIn('virtual-key:vk-eng');
    // The agent applies what listeners get: the rules without Ada's keys and name, right away.
    expect(emitted).toHaveLength(1);
    const applied = emitted[0]!;
    expect(applied.bundle.virtual_keys).toEqual([]);
    expect(applied.bundle.active_virtual_key_id).toBeUndefined();
    expect(applied.bundle.subject).toBeUndefined();
    expect(applied.bundle.fail_mode).toBe('closed');
    expect(client.current()).toBe(applied);
    await expect(fs.stat(path.join(stateDir, 'policy-bundle.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    const own = nextBundle(client);
    await fixture.restart({ listen: { port } });
    const engineering = await own;
    expect(engineering.bundle).toMatchObject({ subject: { sub: 'virtual-key:vk-eng' }, active_virtual_key_id: 'vk-eng', version: 1 });
  });
});
