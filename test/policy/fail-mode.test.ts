import { describe, expect, it } from 'vitest';
import { applyFailMode, type Connectivity } from '../../src/policy/fail-mode.js';
import { bundle, NOW } from './support.js';

const up: Connectivity = { controlPlane: true, gateway: true };

describe('applyFailMode', () => {
  it.each([
    ['open', up, 'gateway', 'proceed', undefined],
    ['closed', up, 'gateway', 'proceed', undefined],
    ['open', { controlPlane: true, gateway: false }, 'gateway', 'proceed-degraded', true],
    ['open', { controlPlane: true, gateway: false }, 'passthrough', 'proceed-degraded', true],
    ['closed', { controlPlane: true, gateway: false }, 'gateway', 'refuse', undefined],
    ['closed', { controlPlane: true, gateway: false }, 'local', 'proceed', undefined],
    ['open', { controlPlane: false, gateway: true }, 'gateway', 'proceed-degraded', false],
    ['closed', { controlPlane: false, gateway: true }, 'gateway', 'refuse', undefined],
    ['closed', { controlPlane: false, gateway: true }, 'local', 'refuse', undefined],
    ['open', { controlPlane: false, gateway: false }, 'gateway', 'proceed-degraded', true],
  ] as const)('fail-%s, %o, %s mode → %s', (failMode, connectivity, mode, action, routeDirect) => {
    const outcome = applyFailMode({ bundle: bundle({ fail_mode: failMode }), connectivity, mode, now: NOW });
    expect(outcome.action).toBe(action);
    if (outcome.action === 'proceed-degraded') expect(outcome.routeDirect).toBe(routeDirect);
    if (outcome.action === 'refuse') {
      expect(outcome.error).toMatchObject({ status: 503, type: 'gateway_unreachable' });
      expect(outcome.error.message).toMatch(/was not sent\. Check your network connection/);
    }
  });

  it('records a reason naming the policy version and age', () => {
    const outcome = applyFailMode({ bundle: bundle({ fail_mode: 'closed' }), connectivity: { controlPlane: false, gateway: true }, mode: 'gateway', now: NOW });
    expect(outcome).toMatchObject({ reason: 'fail-closed: Edge Control is unreachable, the policy cannot be confirmed; request refused (policy v7, issued 1h ago)' });
    const open = applyFailMode({ bundle: bundle(), connectivity: { controlPlane: true, gateway: false }, mode: 'gateway', now: NOW });
    expect(open).toMatchObject({ reason: expect.stringMatching(/^fail-open: the Bifrost gateway is unreachable; sent directly to the provider/) });
  });

  it('without a bundle the device fails open', () => {
    expect(applyFailMode({ bundle: undefined, connectivity: { controlPlane: false, gateway: true }, mode: 'gateway', now: NOW }))
      .toMatchObject({ action: 'proceed-degraded', reason: expect.stringContaining('no policy received yet') });
  });
});
