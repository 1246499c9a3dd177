import { describe, expect, it } from 'vitest';
import { NotificationPlanner, type PlannedNotification } from '../../src/tray/notification-planner.js';
import type { Notice } from '../../src/tray/agent-status.js';
import { NOW, noticeFixture } from './fixtures.js';

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
let apps = 0;
/** A notice at `seconds` after NOW, from an app of its own (so no two are "the same thing" unless a test says so). */
const noticeAt = (seconds: number, overrides: Partial<Notice> = {}) =>
  noticeFixture({ when: at(seconds).toISOString(), firstAt: at(seconds).toISOString(), who: { app: `App ${++apps}` }, ...overrides });

describe('NotificationPlanner', () => {
  it('announces a new notice once; the same notice (same id, higher count) is not announced again', () => {
    const planner = new NotificationPlanner();
    const notice = noticeAt(0);
    const first = planner.plan([notice], at(1));
    expect(first).toEqual([{ title: 'Blocked: gpt-4o is not allowed', body: expect.stringContaining("'eng-team'"), noticeId: notice.id }]);
    expect(planner.plan([{ ...notice, count: 7, when: at(30).toISOString() }], at(31))).toEqual([]);
  });

  it('a storm: at most 3 per minute, the rest summed up in one notification', () => {
    const planner = new NotificationPlanner();
    const storm = Array.from({ length: 10 }, (_, i) => noticeAt(i / 10, { why: { message: `block ${i}`, errorType: 'model_blocked' } }));
    const shown = planner.plan(storm, at(2));
    expect(shown).toHaveLength(3);
    expect(shown.slice(0, 2).map((n) => n.noticeId)).toEqual([storm[0]!.id, storm[1]!.id]);
    expect(shown[2]).toMatchObject({ title: '8 more Bifrost Edge notices', body: '8 blocked requests. Open Recent activity in the Bifrost Edge menu for details.' });
    expect(shown[2]!.summarizes).toEqual(storm.slice(2).map((n) => n.id));
  });

  it('notices beyond the cap wait for a free slot and then arrive as one summary', () => {
    const planner = new NotificationPlanner();
    expect(planner.plan([noticeAt(0), noticeAt(0), noticeAt(0)], at(1))).toHaveLength(3);
    const budget = noticeAt(10, { kind: 'budget_alert', why: { message: '80% used', errorType: 'budget_80' } });
    const block = noticeAt(20);
    expect(planner.plan([budget], at(10))).toEqual([]);
    expect(planner.plan([budget, block], at(20))).toEqual([]);
    // 60 s after the first three, the window has room again.
    const later = planner.plan([budget, block], at(61));
    expect(later).toEqual([{ title: '2 more Bifrost Edge notices', body: '1 blocked request, 1 budget alert. Open Recent activity in the Bifrost Edge menu for details.', summarizes: [budget.id, block.id] }]);
  });

  it('when exactly the free slots are needed, each notice is shown on its own', () => {
    const planner = new NotificationPlanner();
    expect(planner.plan([noticeAt(0)], at(0))).toHaveLength(1);
    const two = planner.plan([noticeAt(5), noticeAt(6)], at(6));
    expect(two.map((n) => n.noticeId)).toHaveLength(2);
    expect(two.every((n) => n.noticeId !== undefined)).toBe(true);
  });

  it('notices that were already old when first seen are history, not news', () => {
    const planner = new NotificationPlanner({ maxAgeMs: 120_000 });
    expect(planner.plan([noticeAt(-600), noticeAt(-121)], at(0))).toEqual([]);
    expect(planner.plan([noticeAt(-30)], at(0))).toHaveLength(1);
  });

  it('a notice whose latest occurrence is recent counts as news even if it started long ago', () => {
    const planner = new NotificationPlanner();
    const notice = noticeFixture({ firstAt: at(-600).toISOString(), when: at(-5).toISOString(), count: 12 });
    expect(planner.plan([notice], at(0))).toMatchObject([{ title: 'Blocked: gpt-4o is not allowed (12 times)' }]);
  });

  it('the same block again (a new notice once the bus window passed) stays quiet for 5 minutes', () => {
    const planner = new NotificationPlanner();
    const same = { who: { app: 'Cursor' } };
    expect(planner.plan([noticeAt(0, same)], at(0))).toHaveLength(1);
    expect(planner.plan([noticeAt(61, same)], at(61))).toEqual([]);
    expect(planner.plan([noticeAt(200, { ...same, what: { provider: 'openai', model: 'o1' } })], at(200))).toHaveLength(1);
    expect(planner.plan([noticeAt(301, same)], at(301))).toHaveLength(1);
  });

  it.each([
    { kind: 'app_pending' as const, quietFor: 24 * 3600, why: { message: 'Raycast is not yet reviewed.' } },
    { kind: 'shadow_ai' as const, quietFor: 24 * 3600, why: { message: 'api.x.ai is not covered.' } },
    { kind: 'fail_open' as const, quietFor: 15 * 60, why: { message: 'fail-open: the Bifrost gateway is unreachable' } },
    { kind: 'budget_alert' as const, quietFor: 0, why: { message: '95% used', errorType: 'budget_95' } },
  ])('$kind: the same thing is announced again only after $quietFor s', ({ kind, quietFor, why }) => {
    const planner = new NotificationPlanner({ maxPerWindow: 100 });
    const same = { kind, why, who: { app: 'Raycast' } };
    expect(planner.plan([noticeAt(0, same)], at(0))).toHaveLength(1);
    const justBefore = Math.max(1, quietFor - 1);
    expect(planner.plan([noticeAt(justBefore, same)], at(justBefore))).toHaveLength(quietFor === 0 ? 1 : 0);
    expect(planner.plan([noticeAt(quietFor + 2, same)], at(quietFor + 2))).toHaveLength(1);
  });

  it('respects a custom cap', () => {
    const planner = new NotificationPlanner({ maxPerWindow: 1, windowMs: 10_000 });
    const shown = planner.plan([noticeAt(0), noticeAt(0)], at(0));
    expect(shown).toEqual([expect.objectContaining({ title: '2 more Bifrost Edge notices' })]);
  });

  it('never more than 3 in any 60 s window, and every notice is shown or summarized (randomized storm over 10 minutes)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const planner = new NotificationPlanner();
    const kinds = ['blocked', 'budget_alert', 'fail_open', 'app_pending', 'sign_in_required'] as const;
    const all: Notice[] = [];
    const shownAt: number[] = [];
    const covered = new Set<string>();
    for (let second = 0; second < 600; second += 2) {
      const burst = random() < 0.3 ? Math.floor(random() * 8) : 0;
      for (let i = 0; i < burst; i++) all.push(noticeAt(second, { kind: kinds[Math.floor(random() * kinds.length)]! }));
      // The agent keeps its 50 latest notices; the tray sees that list on every poll.
      const planned: PlannedNotification[] = planner.plan(all.slice(-50), at(second));
      for (const n of planned) {
        shownAt.push(second * 1000);
        if (n.noticeId) covered.add(n.noticeId);
        for (const id of n.summarizes ?? []) covered.add(id);
      }
    }
    for (const t of shownAt) expect(shownAt.filter((s) => s >= t && s < t + 60_000).length).toBeLessThanOrEqual(3);
    // Everything except what is still waiting for a slot at the end has been told.
    const uncovered = all.filter((n) => !covered.has(n.id));
    expect(uncovered.every((n) => Date.parse(n.when) > at(540).getTime())).toBe(true);
    expect(all.length).toBeGreaterThan(100);
  });
});
