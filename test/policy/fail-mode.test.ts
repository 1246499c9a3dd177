import { describe, expect, it } from 'vitest';
import { applyFailMode, awaitsControlConfirmation, unconfirmedPolicyRefusal, type Connectivity } from '../../src/policy/fail-mode.js';
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

  it('a full audit queue names who its records wait for: an OTLP collector is not the VPN', () => {
    const full: Connectivity = {
      ...up, auditQueue: false,
      auditQueueProblem: { kind: 'full', waitingFor: 'the OpenTelemetry collector', remedy: 'Ask your IT helpdesk to check that the OpenTelemetry collector (audit.otlpEndpoint) is running and reachable from this device' },
    };
    const closed = applyFailMode({ bundle: bundle({ fail_mode: 'closed' }), connectivity: full, mode: 'gateway', now: NOW });
    expect(closed).toMatchObject({ action: 'refuse', error: { status: 503, type: 'audit_queue_full' }, reason: expect.stringMatching(/^fail-closed: the audit queue is full of records the OpenTelemetry collector has not acknowledged/) });
    const message = closed.action === 'refuse' ? closed.error.message : '';
    expect(message).toMatch(/it has not reached the OpenTelemetry collector for a long time.*was not sent\. Ask your IT helpdesk to check that the OpenTelemetry collector/);
    expect(message).not.toMatch(/Edge Control|VPN/);
    const open = applyFailMode({ bundle: bundle({ fail_mode: 'open' }), connectivity: full, mode: 'gateway', now: NOW });
    expect(open).toMatchObject({ action: 'proceed-degraded', reason: expect.stringMatching(/answered without an audit record \(the queued records wait for the OpenTelemetry collector;/) });
  });

  it('an audit database that cannot be written (a full disk): fail-closed refuses up front saying so, fail-open answers unrecorded', () => {
    const unwritable: Connectivity = { ...up, auditQueue: false, auditQueueProblem: { kind: 'unwritable', reason: 'SQLITE_FULL: database or disk is full' } };
    const closed = applyFailMode({ bundle: bundle({ fail_mode: 'closed' }), connectivity: unwritable, mode: 'local', now: NOW });
    expect(closed).toMatchObject({ action: 'refuse', error: { status: 503, type: 'audit_unwritable' }, reason: expect.stringMatching(/^fail-closed: the audit database cannot be written \(SQLITE_FULL: database or disk is full\)/) });
    const message = closed.action === 'refuse' ? closed.error.message : '';
    expect(message).toMatch(/audit database cannot be written \(SQLITE_FULL: database or disk is full\).*was not sent\. Free disk space on this device/);
    expect(message).not.toMatch(/VPN|queue is full/);
    expect(applyFailMode({ bundle: bundle({ fail_mode: 'open' }), connectivity: unwritable, mode: 'gateway', now: NOW }))
      .toMatchObject({ action: 'proceed-degraded', routeDirect: false, reason: expect.stringMatching(/^fail-open: the audit database cannot be written \(SQLITE_FULL: database or disk is full\); this request is answered without an audit record/) });
  });

  it('without a bundle the device fails open', () => {
    expect(applyFailMode({ bundle: undefined, connectivity: { controlPlane: false, gateway: true }, mode: 'gateway', now: NOW }))
      .toMatchObject({ action: 'proceed-degraded', reason: expect.stringContaining('no policy received yet') });
  });
});

describe('Edge Control not heard from since the start (controlPlaneConfirmed: false)', () => {
  const unconfirmed: Connectivity = { ...up, controlPlaneConfirmed: false };
  it.each<[string, 'open' | 'closed' | undefined, Connectivity, boolean]>([
    ['fail-closed, no answer yet: wait, then refuse', 'closed', unconfirmed, true],
    ['fail-closed, a call already failed: still worth the wait', 'closed', { ...unconfirmed, controlPlaneProblem: 'policy fetch failed: …' }, true],
    ['fail-closed, confirmed', 'closed', { ...up, controlPlaneConfirmed: true }, false],
    ['fail-closed, no Edge Control (nothing to confirm)', 'closed', up, false],
    ['fail-closed, judged unreachable: the unreachable refusal applies at once', 'closed', { ...unconfirmed, controlPlane: false }, false],
    ['fail-open: goes on as today', 'open', unconfirmed, false],
    ['no bundle yet: fails open', undefined, unconfirmed, false],
  ])('%s', (_name, failMode, connectivity, refused) => {
    const b = failMode === undefined ? undefined : bundle({ fail_mode: failMode });
    expect(awaitsControlConfirmation(b, connectivity)).toBe(refused);
    expect(unconfirmedPolicyRefusal({ bundle: b, connectivity, now: NOW }) !== undefined).toBe(refused);
  });

  it('says Edge is confirming the policy while nothing went wrong, and that it could not once a call did', () => {
    const confirming = unconfirmedPolicyRefusal({ bundle: bundle({ fail_mode: 'closed' }), connectivity: unconfirmed, now: NOW });
    expect(confirming).toMatchObject({
      reason: 'fail-closed: Edge Control has not answered yet since Edge started, the policy is not confirmed; request refused (policy v7, issued 1h ago)',
      error: { status: 503, type: 'gateway_unreachable' },
    });
    expect(confirming?.error.message).toMatch(/^Bifrost Edge has just started and is still confirming your AI policy with Edge Control, .* Try again in a few seconds/);
    expect(confirming?.error.message).not.toMatch(/cannot reach|unreachable/);

    const failed = unconfirmedPolicyRefusal({ bundle: bundle({ fail_mode: 'closed' }), connectivity: { ...unconfirmed, controlPlaneProblem: 'policy fetch failed: timed out' }, now: NOW });
    expect(failed?.reason).toBe('fail-closed: Edge Control has not answered since Edge started (policy fetch failed: timed out), the policy is not confirmed; request refused (policy v7, issued 1h ago)');
    expect(failed?.error.message).toMatch(/^Bifrost Edge has not been able to confirm your AI policy with Edge Control since it started, .* Check your network connection \(VPN\)/);
  });

  it('nothing to enroll with (nobody signed in): refused at once, no wait, saying to sign in', () => {
    const cannotCall: Connectivity = { ...unconfirmed, controlPlaneCallable: false, controlPlaneProblem: 'enrollment not possible: not signed in yet' };
    const failClosed = bundle({ fail_mode: 'closed' });
    expect(awaitsControlConfirmation(failClosed, cannotCall)).toBe(false);
    const refusal = unconfirmedPolicyRefusal({ bundle: failClosed, connectivity: cannotCall, now: NOW });
    expect(refusal?.reason).toBe('fail-closed: Edge Control cannot be asked to confirm the policy (enrollment not possible: not signed in yet); request refused (policy v7, issued 1h ago)');
    expect(refusal?.error.message).toMatch(/nobody is signed in.*Sign in \(the tray's "Sign in…", or `bifrost-edge login`\)/);
    expect(refusal?.error.message).not.toMatch(/VPN/);
  });
});
