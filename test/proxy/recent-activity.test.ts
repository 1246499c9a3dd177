import { describe, expect, it } from 'vitest';
import { RecentActivity } from '../../src/proxy/recent-activity.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';

const exchange = (id: string, extra: Partial<ExchangeRecord> = {}): ExchangeRecord => ({
  id, method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', decision: 'forwarded', findings: [], latencyMs: 1, ...extra,
});

describe('RecentActivity', () => {
  it('lists the newest first and keeps only the last N', () => {
    const activity = new RecentActivity(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) activity.add(exchange(id));
    expect(activity.list().map((i) => i.id)).toEqual(['e', 'd', 'c']);
    expect(activity.list(2).map((i) => i.id)).toEqual(['e', 'd']);
  });

  it('is empty before the first request, and partial lists are in order', () => {
    const activity = new RecentActivity(5);
    expect(activity.list()).toEqual([]);
    activity.add(exchange('a'));
    activity.add(exchange('b'));
    expect(activity.list().map((i) => i.id)).toEqual(['b', 'a']);
  });

  it('never shows prompt text, and stamps when each exchange finished', () => {
    const activity = new RecentActivity();
    const before = Date.now();
    activity.add(exchange('a', { prompt: 'my secret plans', findings: [{ type: 'email', ruleId: 'pii.email', action: 'flag', location: 'messages[0].content' }] }));
    const [item] = activity.list();
    expect(item).not.toHaveProperty('prompt');
    expect(JSON.stringify(item)).not.toContain('secret plans');
    expect(item!.findings).toHaveLength(1);
    expect(Date.parse(item!.at)).toBeGreaterThanOrEqual(before - 1000);
  });
});
