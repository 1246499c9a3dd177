import { describe, expect, it } from 'vitest';
import { NoticeBus, type Notice, type NoticeDraft } from '../../src/policy/notices.js';

const draft = (overrides: Partial<NoticeDraft> = {}): NoticeDraft => ({
  kind: 'blocked',
  who: { user: 'ada', app: 'Cursor' },
  what: { provider: 'openai', model: 'gpt-4o', host: 'api.openai.com' },
  why: { message: 'Your key does not allow gpt-4o', errorType: 'model_blocked' },
  ...overrides,
});

function busAt(start: number) {
  let now = start;
  const bus = new NoticeBus({ windowMs: 60_000, now: () => new Date(now) });
  const emitted: Notice[] = [];
  const repeated: Notice[] = [];
  bus.on('notice', (n) => emitted.push(n));
  bus.on('notice-repeated', (n) => repeated.push(n));
  return { bus, emitted, repeated, advance: (ms: number) => { now += ms; } };
}

describe('NoticeBus', () => {
  it('a retry storm is one notice with a count', () => {
    const { bus, emitted, repeated, advance } = busAt(0);
    for (let i = 0; i < 25; i++) {
      bus.publish(draft());
      advance(1000);
    }
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ kind: 'blocked', count: 1, who: { user: 'ada', app: 'Cursor' }, when: '1970-01-01T00:00:00.000Z' });
    expect(repeated).toHaveLength(24);
    expect(repeated.at(-1)).toMatchObject({ id: emitted[0]!.id, count: 25, firstAt: '1970-01-01T00:00:00.000Z', when: '1970-01-01T00:00:24.000Z' });
    expect(bus.recent()).toEqual([expect.objectContaining({ id: emitted[0]!.id, count: 25 })]);
  });

  it('after the window a new notice is emitted', () => {
    const { bus, emitted, advance } = busAt(0);
    bus.publish(draft());
    advance(59_999);
    bus.publish(draft());
    advance(1);
    bus.publish(draft());
    expect(emitted).toHaveLength(2);
    expect(emitted[1]!.count).toBe(1);
  });

  it.each([
    ['kind', { kind: 'budget_alert' as const }],
    ['app', { who: { user: 'ada', app: 'Claude Code' } }],
    ['model', { what: { provider: 'openai', model: 'o3' } }],
    ['error type', { why: { message: 'slow down', errorType: 'rate_limited' } }],
  ])('a different %s is a different notice', (_name, change) => {
    const { bus, emitted } = busAt(0);
    bus.publish(draft());
    bus.publish(draft(change));
    expect(emitted).toHaveLength(2);
  });

  it('recent() filters by kind, newest first, bounded', () => {
    const bus = new NoticeBus({ historySize: 3 });
    bus.publish(draft({ why: { message: 'a', errorType: 'a' } }));
    bus.publish(draft({ kind: 'budget_alert', why: { message: 'b', errorType: 'b' } }));
    bus.publish(draft({ why: { message: 'c', errorType: 'c' } }));
    bus.publish(draft({ why: { message: 'd', errorType: 'd' } }));
    expect(bus.recent().map((n) => n.why.message)).toEqual(['d', 'c', 'b']);
    expect(bus.recent(['blocked']).map((n) => n.why.message)).toEqual(['d', 'c']);
  });

  it('a failing subscriber neither breaks publish nor starves the others', () => {
    const errors: unknown[] = [];
    const bus = new NoticeBus({ onListenerError: (e) => errors.push(e) });
    const seen: string[] = [];
    bus.on('notice', () => { throw new Error('tray crashed'); });
    bus.on('notice', (n) => seen.push(n.id));
    expect(() => bus.publish(draft())).not.toThrow();
    expect(seen).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('off() unsubscribes', () => {
    const bus = new NoticeBus();
    const seen: Notice[] = [];
    const listener = (n: Notice) => seen.push(n);
    bus.on('notice', listener);
    bus.off('notice', listener);
    bus.publish(draft());
    expect(seen).toHaveLength(0);
  });
});
