import { describe, expect, it } from 'vitest';
import type { AuditQueueStatus } from '../../src/audit/errors.js';
import { auditQueueSignal } from '../../src/tray/agent-status.js';
import { MAX_TOOLTIP_LENGTH, trayModel, type MenuItemModel, type TrayModelInput } from '../../src/tray/tray-model.js';
import { NOW, statusFixture } from './fixtures.js';

// Times are shown on the clock of this computer: pin its zone so the expected texts hold anywhere.
process.env.TZ = 'UTC';

const base: TrayModelInput = { status: statusFixture(), reachable: true, signedIn: true, signInAvailable: true };
const inFuture = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

const labels = (menu: MenuItemModel[]) => menu.map((item) => (item.kind === 'separator' ? '---' : item.label));
type ActionItem = Extract<MenuItemModel, { kind: 'action' }>;
type InfoItem = Extract<MenuItemModel, { kind: 'info' }>;
const action = (menu: MenuItemModel[], id: string) => menu.find((item): item is ActionItem => item.kind === 'action' && item.id === id);
const info = (menu: MenuItemModel[], id: string) => menu.find((item): item is InfoItem => item.kind === 'info' && item.id === id)?.label;

describe('trayModel: icon and headline', () => {
  const cases: Array<{ name: string; input: Partial<TrayModelInput>; icon: string; headline: RegExp }> = [
    { name: 'healthy, gateway mode', input: {}, icon: 'ok', headline: /^Protecting AI traffic$/ },
    { name: 'healthy, local mode', input: { status: statusFixture({ user: { signedIn: true, name: undefined, email: undefined } }, 'local') }, icon: 'ok', headline: /local mode/ },
    { name: 'agent not answering', input: { status: undefined, reachable: false }, icon: 'off', headline: /not responding/ },
    { name: 'reachable but no status yet', input: { status: undefined }, icon: 'off', headline: /not responding/ },
    { name: 'agent failed to start', input: { status: undefined, reachable: false, startError: 'port 8790 is in use' }, icon: 'off', headline: /could not start: port 8790 is in use/ },
    { name: 'not signed in (gateway mode refuses)', input: { status: statusFixture({ user: { signedIn: false } }) }, icon: 'blocked', headline: /Sign in/ },
    { name: 'not signed in is fine in local mode', input: { status: statusFixture({ user: { signedIn: false } }, 'local') }, icon: 'ok', headline: /Protecting/ },
    { name: 'key switched off', input: { status: statusFixture({ activeKey: { id: 'vk-eng', name: 'eng-team', state: 'inactive' } }) }, icon: 'blocked', headline: /'eng-team' is switched off/ },
    { name: 'key expired', input: { status: statusFixture({ activeKey: { id: 'vk-eng', name: 'eng-team', state: 'expired' } }) }, icon: 'blocked', headline: /'eng-team' has expired/ },
    { name: 'policy without a key', input: { status: statusFixture({ activeKey: null, keyProblem: 'The policy gives you no virtual key.' }) }, icon: 'blocked', headline: /no usable key/ },
    { name: 'gateway down, fail-open', input: { status: statusFixture({ connectivity: { gateway: false } }) }, icon: 'attention', headline: /gateway unreachable: requests go straight/ },
    { name: 'gateway down, fail-closed', input: { status: statusFixture({ connectivity: { gateway: false }, policy: { failMode: 'closed' } }) }, icon: 'blocked', headline: /stopped: Bifrost gateway unreachable/ },
    { name: 'gateway down does not matter in local mode', input: { status: statusFixture({ connectivity: { gateway: false } }, 'local') }, icon: 'ok', headline: /Protecting/ },
    { name: 'Edge Control down, fail-open', input: { status: statusFixture({ connectivity: { controlPlane: false } }) }, icon: 'attention', headline: /Edge Control unreachable: using the last policy/ },
    { name: 'Edge Control down, fail-closed', input: { status: statusFixture({ connectivity: { controlPlane: false }, policy: { failMode: 'closed' } }) }, icon: 'blocked', headline: /stopped: Edge Control/ },
    { name: 'Edge Control refuses the device, fail-closed', input: { status: statusFixture({ connectivity: { controlPlaneConfirmed: false, controlPlaneCallable: false, controlPlaneRefusesDevice: true, controlPlaneProblem: 'Edge Control keeps refusing this device: …' }, policy: { failMode: 'closed' } }) }, icon: 'blocked', headline: /stopped: Edge Control keeps refusing this device \(contact IT\)/ },
    { name: 'Edge Control not heard from since the start, fail-closed', input: { status: statusFixture({ connectivity: { controlPlaneConfirmed: false, controlPlaneProblem: 'policy fetch failed: ECONNREFUSED' }, policy: { failMode: 'closed' } }) }, icon: 'blocked', headline: /stopped: Edge Control has not answered since Edge started/ },
    { name: 'key budget at 85 %', input: { status: statusFixture({ budgets: [{ maxUsd: 10, usedUsd: 8.5, fraction: 0.85, resetDuration: '1M' }] }) }, icon: 'attention', headline: /budget is 85% used/ },
    { name: 'key budget at 79 % is fine', input: { status: statusFixture({ budgets: [{ maxUsd: 10, usedUsd: 7.9, fraction: 0.79, resetDuration: '1M' }] }) }, icon: 'ok', headline: /Protecting/ },
    { name: 'key budget spent', input: { status: statusFixture({ budgets: [{ maxUsd: 10, usedUsd: 10, fraction: 1, resetDuration: '1d', resetsAt: inFuture(90) }] }) }, icon: 'blocked', headline: /budget is used up \(resets at 13:30\)/ },
    { name: 'provider budget spent only needs attention', input: { status: statusFixture({ budgets: [{ provider: 'openai', maxUsd: 5, usedUsd: 5, fraction: 1, resetDuration: '1d' }] }) }, icon: 'attention', headline: /openai budget is used up/ },
    { name: 'request limit reached', input: { status: statusFixture({ rateLimits: [{ metric: 'requests', max: 3, used: 3, resetDuration: '1h', resetsAt: inFuture(12) }] }) }, icon: 'attention', headline: /Request limit reached \(resets at 12:12\)/ },
    { name: 'audit queue near cap', input: { auditQueue: { nearCap: true, full: false } }, icon: 'attention', headline: /nearly full/ },
    { name: 'audit queue full, fail-open', input: { auditQueue: { nearCap: true, full: true } }, icon: 'attention', headline: /not being recorded/ },
    { name: 'audit queue full, fail-closed', input: { status: statusFixture({ policy: { failMode: 'closed' } }), auditQueue: { nearCap: true, full: true } }, icon: 'blocked', headline: /audit queue is full/ },
    { name: 'audit queue full, fail-closed, naming whom it waits for', input: { status: statusFixture({ policy: { failMode: 'closed' } }), auditQueue: { nearCap: false, full: true, waitingFor: 'Edge Control' } }, icon: 'blocked', headline: /^AI requests stopped: the audit queue is full \(waiting for Edge Control\)$/ },
    { name: 'audit queue near cap, naming whom it waits for', input: { auditQueue: { nearCap: true, full: false, waitingFor: 'the OpenTelemetry collector' } }, icon: 'attention', headline: /^The audit queue is nearly full \(waiting for the OpenTelemetry collector\)$/ },
    { name: 'audit database unwritable, fail-closed', input: { status: statusFixture({ policy: { failMode: 'closed' } }), auditQueue: { nearCap: false, full: false, unwritable: 'SQLITE_FULL: database or disk is full', waitingFor: 'Edge Control' } }, icon: 'blocked', headline: /^AI requests stopped: the audit database cannot be written \(SQLITE_FULL: database or disk is full\); free disk space$/ },
    { name: 'audit database unwritable, fail-open', input: { auditQueue: { nearCap: false, full: false, unwritable: 'SQLITE_IOERR_WRITE: disk I/O error' } }, icon: 'attention', headline: /^Requests are not being recorded: the audit database cannot be written \(SQLITE_IOERR_WRITE: disk I\/O error\)/ },
    { name: 'policy problems', input: { status: statusFixture({ problems: ['bad pattern', 'bad duration'] }) }, icon: 'attention', headline: /2 parts this device cannot apply/ },
    { name: 'blocked outranks attention', input: { status: statusFixture({ connectivity: { controlPlane: false }, user: { signedIn: false } }) }, icon: 'blocked', headline: /Sign in/ },
  ];

  it.each(cases)('$name → $icon', ({ input, icon, headline }) => {
    const model = trayModel({ ...base, ...input });
    expect(model.icon).toBe(icon);
    expect(info(model.menu, 'status')).toMatch(headline);
    expect(model.tooltip).toMatch(/^Bifrost Edge: /);
    expect(model.tooltip.length).toBeLessThanOrEqual(MAX_TOOLTIP_LENGTH);
  });
});

describe('auditQueueSignal: what the agent hands the tray about its audit queue', () => {
  const status = (fields: Partial<AuditQueueStatus>): AuditQueueStatus => ({
    destination: 'control', unsentRecords: 0, unsentBytes: 0, storedRecords: 0, storedBytes: 0, maxRecords: null, maxBytes: 1024,
    fillRatio: 0, level: 'ok', unwritable: null, ...fields,
  });
  it.each([
    { name: 'ok, Edge Control', status: status({}), signal: { nearCap: false, full: false, waitingFor: 'Edge Control' } },
    { name: 'near cap, OTLP only', status: status({ destination: 'otlp', level: 'near_cap' }), signal: { nearCap: true, full: false, waitingFor: 'the OpenTelemetry collector' } },
    { name: 'full', status: status({ level: 'full' }), signal: { nearCap: false, full: true, waitingFor: 'Edge Control' } },
    { name: 'unwritable, rolling local log', status: status({ destination: null, unwritable: 'SQLITE_FULL: database or disk is full' }), signal: { nearCap: false, full: false, unwritable: 'SQLITE_FULL: database or disk is full' } },
  ])('$name', ({ status: s, signal }) => {
    expect(auditQueueSignal(s)).toEqual(signal);
  });
});

describe('trayModel: the passing of time alone changes nothing (a rebuilt menu closes on Windows)', () => {
  it('the same agent state ten minutes later is the same model: times are clock times, not countdowns', () => {
    const later = (minutes: number) => {
      const status = statusFixture({
        budgets: [{ maxUsd: 10, usedUsd: 10, fraction: 1, resetDuration: '1d', resetsAt: inFuture(90) }],
        rateLimits: [{ metric: 'tokens', max: 100, used: 100, resetDuration: '1h', resetsAt: inFuture(40) }],
        policy: { ageSeconds: 300 + minutes * 60 },
      });
      status.policy.generatedAt = new Date(NOW.getTime() + minutes * 60_000).toISOString();
      return trayModel({ ...base, status });
    };
    expect(later(10)).toEqual(later(0));
    expect(labels(later(0).menu)).toContain('Your budget is used up (resets at 13:30)');
  });

  it('a moment on another day says which day', () => {
    const status = statusFixture({
      policy: { issuedAt: '2025-05-30T09:00:00.000Z' },
      budgets: [{ maxUsd: 10, usedUsd: 10, fraction: 1, resetDuration: '1M', resetsAt: '2025-06-02T00:00:00.000Z' }],
    });
    const model = trayModel({ ...base, status });
    expect(info(model.menu, 'policy')).toBe('Policy v3, issued on 30 May at 09:00');
    expect(info(model.menu, 'status')).toBe('Your budget is used up (resets on 2 Jun at 00:00)');
  });
});

describe('trayModel: menu', () => {
  it('a healthy signed-in person sees status, user and key, policy version and age, the pages, Sign out, Quit', () => {
    const model = trayModel(base);
    expect(labels(model.menu)).toEqual([
      'Protecting AI traffic',
      "Signed in as ada@example.com · key 'eng-team'",
      'Policy v3, issued at 11:55',
      '---',
      'Open status…',
      'Recent activity…',
      '---',
      'Sign out',
      '---',
      'Quit Bifrost Edge',
    ]);
    expect(model.menu.filter((item) => item.kind === 'action').every((item) => item.enabled)).toBe(true);
  });

  const accountCases: Array<{ name: string; input: Partial<TrayModelInput>; signIn: boolean; signOut: boolean; user: RegExp }> = [
    { name: 'signed in', input: {}, signIn: false, signOut: true, user: /^Signed in as ada@example.com/ },
    { name: 'session user wins over the policy subject', input: { user: 'Ada L.' }, signIn: false, signOut: true, user: /^Signed in as Ada L\./ },
    { name: 'signed out', input: { signedIn: false }, signIn: true, signOut: false, user: /^Not signed in · key 'eng-team'/ },
    { name: 'sign-in not configured by IT', input: { signedIn: false, signInAvailable: false }, signIn: false, signOut: false, user: /^User: ada@example.com/ },
    { name: 'local mode without a user', input: { signedIn: false, signInAvailable: false, status: statusFixture({ activeKey: null, user: { name: undefined, email: undefined } }, 'local') }, signIn: false, signOut: false, user: /^Local mode: no sign-in needed$/ },
  ];
  it.each(accountCases)('account items when $name', ({ input, signIn, signOut, user }) => {
    const model = trayModel({ ...base, ...input });
    expect(Boolean(action(model.menu, 'sign-in'))).toBe(signIn);
    expect(Boolean(action(model.menu, 'sign-out'))).toBe(signOut);
    expect(info(model.menu, 'user')).toMatch(user);
  });

  it('no policy yet', () => {
    expect(info(trayModel({ ...base, status: statusFixture({ policy: null, activeKey: null }) }).menu, 'policy')).toBe('No policy received yet');
  });

  it.each([
    { pauseAllowed: undefined, shown: false },
    { pauseAllowed: false, shown: false },
    { pauseAllowed: true, shown: true },
  ])('"Pause protection" only when policy grants it (pauseAllowed=$pauseAllowed)', ({ pauseAllowed, shown }) => {
    const model = trayModel({ ...base, ...(pauseAllowed !== undefined ? { pauseAllowed } : {}) });
    expect(Boolean(action(model.menu, 'pause'))).toBe(shown);
  });

  it('when the agent is off: no user or policy lines, pages disabled, Pause hidden, Quit still works', () => {
    const model = trayModel({ ...base, status: undefined, reachable: false, pauseAllowed: true });
    expect(info(model.menu, 'user')).toBeUndefined();
    expect(info(model.menu, 'policy')).toBeUndefined();
    expect(action(model.menu, 'open-status')?.enabled).toBe(false);
    expect(action(model.menu, 'open-activity')?.enabled).toBe(false);
    expect(action(model.menu, 'pause')).toBeUndefined();
    expect(action(model.menu, 'quit')?.enabled).toBe(true);
  });

  it('lists further issues under the headline, at most three lines then "and N more"', () => {
    const status = statusFixture({
      connectivity: { controlPlane: false, gateway: false },
      budgets: [{ maxUsd: 10, usedUsd: 9, fraction: 0.9, resetDuration: '1M' }],
      problems: ['x'],
      user: { signedIn: false },
    });
    const menu = trayModel({ ...base, status }).menu;
    expect(labels(menu).slice(0, 4)).toEqual([
      'Sign in to use AI apps',
      'Bifrost gateway unreachable: requests go straight to providers',
      'Edge Control unreachable: using the last policy',
      '…and 2 more (see status)',
    ]);
  });

  it('a long start error still gives a tooltip Windows can show in full', () => {
    const model = trayModel({ ...base, status: undefined, reachable: false, startError: 'x'.repeat(400) });
    expect(model.tooltip.length).toBe(MAX_TOOLTIP_LENGTH);
    expect(model.tooltip.endsWith('…')).toBe(true);
  });
});
