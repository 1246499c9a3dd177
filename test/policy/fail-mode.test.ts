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

  it('a full audit queue: fail-closed refuses every mode (nothing would record the request), fail-open answers unrecorded', () => {
    const full: Connectivity = { ...up, auditQueue: false };
    for (const mode of ['gateway', 'passthrough', 'local'] as const) {
      const closed = applyFailMode({ bundle: bundle({ fail_mode: 'closed' }), connectivity: full, mode, now: NOW });
      expect(closed).toMatchObject({ action: 'refuse', error: { status: 503, type: 'audit_queue_full' }, reason: expect.stringMatching(/^fail-closed: the audit queue is full/) });
      expect(closed.action === 'refuse' && closed.error.message).toMatch(/audit queue is full .* so this request was not sent\. Connect to your company network/);
      expect(applyFailMode({ bundle: bundle({ fail_mode: 'open' }), connectivity: full, mode, now: NOW }))
        .toMatchObject({ action: 'proceed-degraded', routeDirect: false, reason: expect.stringMatching(/^fail-open: the audit queue is full; this request is answered without an audit record/) });
    }
    // With the gateway down as well, failing open still routes around the gateway.
    expect(applyFailMode({ bundle: bundle({ fail_mode: 'open' }), connectivity: { ...full, gateway: false }, mode: 'gateway', now: NOW })).toMatchObject({ action: 'proceed-degraded', routeDirect: true });
    expect(applyFailMode({ bundle: bundle({ fail_mode: 'closed' }), connectivity: { ...up, auditQueue: true }, mode: 'gateway', now: NOW })).toEqual({ action: 'proceed' });
  });

  it('without a bundle the device fails open', () => {
    expect(applyFailMode({ bundle: undefined, connectivity: { controlPlane: false, gateway: true }, mode: 'gateway', now: NOW }))
      .toMatchObject({ action: 'proceed-degraded', reason: expect.stringContaining('no policy received yet') });
  });
});
