import { describe, expect, it } from 'vitest';
import { AppsSeen } from '../../src/policy/apps-seen.js';
import type { AppIdentity } from '../../src/policy/apps.js';

const app = (id: string, host = 'api.openai.com', status: AppIdentity['status'] = 'pending'): AppIdentity => ({ id, name: id, status, listed: false, browser: false, host });

describe('AppsSeen', () => {
  it('counts requests per app and host, newest first, with the latest status', () => {
    const seen = new AppsSeen();
    seen.record(app('curl'), 1_000);
    seen.record(app('openai-node'), 2_000);
    seen.record(app('curl', 'api.openai.com', 'denied'), 3_000);
    seen.record(app('curl', 'api.anthropic.com'), 4_000);
    expect(seen.list()).toEqual([
      { app: 'curl', host: 'api.anthropic.com', status: 'pending', last_seen: new Date(4_000).toISOString(), requests: 1 },
      { app: 'curl', host: 'api.openai.com', status: 'denied', last_seen: new Date(3_000).toISOString(), requests: 2 },
      { app: 'openai-node', host: 'api.openai.com', status: 'pending', last_seen: new Date(2_000).toISOString(), requests: 1 },
    ]);
  });

  it('stays bounded, dropping the app seen least recently', () => {
    const seen = new AppsSeen(3);
    seen.record(app('a'), 1);
    seen.record(app('b'), 2);
    seen.record(app('c'), 3);
    seen.record(app('a'), 4);
    seen.record(app('d'), 5);
    expect(seen.list().map((e) => e.app)).toEqual(['d', 'a', 'c']);
  });
});
