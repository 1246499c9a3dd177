import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startQuotaPolicySync } from '../../src/control/client/quota-policy-sync.js';
import type { ActivePolicy, PolicySync } from '../../src/control/client/active-policy.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { ADA_KEY, captureLogger, tempDir, testLogger, waitFor } from './support/control-fixture.js';

/** Stock Bifrost alone (no Edge Control server): policy from the key's own quota route. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function standinForTest(): Promise<BifrostStandin> {
  const standin = await startBifrostStandin({ virtualKeys: [ADA_KEY] });
  cleanups.push(() => standin.close());
  return standin;
}

async function quotaSync(options: Parameters<typeof startQuotaPolicySync>[0]): Promise<PolicySync> {
  const sync = await startQuotaPolicySync({ pollIntervalSeconds: 0.1, timing: { minPollSeconds: 0.1 }, ...options });
  cleanups.push(() => sync.close());
  return sync;
}

describe('stock Bifrost mode', () => {
  it('synthesizes a bundle from /api/governance/virtual-keys/quota and follows changes by polling', async () => {
    const standin = await standinForTest();
    const stateDir = await tempDir('quota');
    const sync = await quotaSync({ gatewayUrl: standin.url, virtualKey: ADA_KEY.value, stateDir, log: testLogger(), template: { fail_mode: 'closed' } });
    const first = await waitFor(() => sync.current(), 5_000, 'the quota bundle');
    expect(first.source).toBe('bifrost-quota');
    expect(first.signed).toBeUndefined();
    expect(first.bundle.fail_mode).toBe('closed');
    expect(first.bundle.gateway?.url).toBe(standin.url);
    const key = first.bundle.virtual_keys[0]!;
    expect(first.bundle.active_virtual_key_id).toBe(key.id);
    expect(key).toMatchObject({ name: 'ada', value: ADA_KEY.value, is_active: true });
    expect(key.provider_configs.map((p) => [p.provider, p.allowed_models])).toEqual([['openai', ['gpt-4o-mini']]]);
    expect(key.budgets?.[0]).toMatchObject({ max_limit: 50, current_usage: 3 });
    const quotaCall = await standin.waitForRequest((r) => r.path === '/api/governance/virtual-keys/quota');
    expect(quotaCall.headers['x-bf-vk']).toBe(ADA_KEY.value);

    const changed = new Promise<ActivePolicy>((resolve) => sync.onBundle(resolve));
    standin.setVirtualKeys([{ ...ADA_KEY, provider_configs: [{ provider: 'anthropic', allowed_models: ['*'] }] }]);
    const next = await changed;
    expect(next.bundle.version).toBe(first.bundle.version + 1);
    expect(next.bundle.virtual_keys[0]?.provider_configs.map((p) => p.provider)).toEqual(['anthropic']);

    const cached = JSON.parse(await fs.readFile(path.join(stateDir, 'policy-bundle.json'), 'utf8')) as { source: string };
    expect(cached.source).toBe('bifrost-quota');
  });

  it('starts from its cache when the gateway is down, and says why it cannot refresh', async () => {
    const standin = await standinForTest();
    const stateDir = await tempDir('quota');
    const first = await startQuotaPolicySync({ gatewayUrl: standin.url, virtualKey: ADA_KEY.value, stateDir, log: testLogger() });
    const synced = await waitFor(() => first.current(), 5_000, 'the quota bundle');
    await first.close();
    await standin.close();

    const { log, lines } = captureLogger();
    const offline = await quotaSync({ gatewayUrl: standin.url, virtualKey: ADA_KEY.value, stateDir, log });
    expect(offline.current()).toMatchObject({ source: 'bifrost-quota', origin: 'cache' });
    expect(offline.current()?.bundle.version).toBe(synced.bundle.version);
    await waitFor(() => lines.some((l) => /cannot reach the gateway/.test(l)), 5_000, 'a logged failure');
  });

  it('holds no policy for a key the gateway does not know, and logs what to fix', async () => {
    const standin = await standinForTest();
    const { log, lines } = captureLogger();
    const sync = await quotaSync({ gatewayUrl: standin.url, virtualKey: 'sk-bf-unknown-0000', log });
    expect(await sync.syncNow()).toBe('failed');
    expect(sync.current()).toBeUndefined();
    expect(lines.join('')).toMatch(/does not accept this virtual key/);
  });
});
