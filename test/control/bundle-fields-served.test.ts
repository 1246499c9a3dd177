import { describe, expect, it } from 'vitest';
import type { PolicyTemplateInput } from '../../src/control/protocol/admin.js';
import { BUNDLE_FIELDS_HEADER } from '../../src/control/protocol/paths.js';
import type { SignedPolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { ADA_KEY, type ControlFixture } from './support/control-fixture.js';
import { syncTestHarness } from './support/sync-harness.js';

/**
 * Edge Control sends duration_pricing only to devices that announce they understand it (edge-bundle-fields), as it
 * names the device only for those that ask: an agent that predates the field refuses every bundle carrying it.
 */
const { fixtureForTest } = syncTestHarness();

const PRICED: PolicyTemplateInput = { intercept_hosts: ['api.openai.com'], duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } };
const announcing = (announce: boolean): Record<string, string> => (announce ? { [BUNDLE_FIELDS_HEADER]: 'duration_pricing' } : {});

async function enroll(fixture: ControlFixture, announce: boolean): Promise<string> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...announcing(announce) },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'h' } }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { device_credential: string }).device_credential;
}

async function getPolicy(fixture: ControlFixture, credential: string, announce: boolean): Promise<SignedPolicyBundle> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${credential}`, ...announcing(announce) } });
  expect(res.status).toBe(200);
  return await res.json() as SignedPolicyBundle;
}

describe('duration_pricing goes only to devices that announce it', () => {
  it('a device that does not announce it gets bundles without it; one that does, with it', async () => {
    const fixture = await fixtureForTest({ config: { policy: PRICED } });
    const older = await enroll(fixture, false);
    expect('duration_pricing' in (await getPolicy(fixture, older, false)).bundle).toBe(false);
    const newer = await enroll(fixture, true);
    expect((await getPolicy(fixture, newer, true)).bundle.duration_pricing).toEqual({ 'openai/whisper-1': { usd_per_minute: 0.01 } });
  });

  it('an agent upgraded since it enrolled gets it from its first fetch announcing it, and keeps it when the admin publishes', async () => {
    const fixture = await fixtureForTest({ config: { policy: PRICED } });
    const credential = await enroll(fixture, false);
    const before = await getPolicy(fixture, credential, false);
    const upgraded = await getPolicy(fixture, credential, true);
    expect(upgraded.bundle).toMatchObject({ version: before.bundle.version + 1, duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } });
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { ...PRICED, fail_mode: 'closed' })).status).toBe(200);
    expect((await getPolicy(fixture, credential, true)).bundle).toMatchObject({ fail_mode: 'closed', duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } });
  });
});
