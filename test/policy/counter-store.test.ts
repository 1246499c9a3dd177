import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { SqliteShadowAiRegistry } from '../../src/policy/shadow-ai.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2025-06-01T12:00:00Z');

let dir: string;
let file: string;
const open: PolicyDatabase[] = [];

function openStore(): { db: PolicyDatabase; store: SqliteCounterStore } {
  const db = openPolicyDatabase(file);
  open.push(db);
  return { db, store: new SqliteCounterStore(db) };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-'));
  file = path.join(dir, 'nested', 'policy.db');
});

afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SqliteCounterStore', () => {
  it('uses WAL', () => {
    const { db } = openStore();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('gives an amount back only into the run of the window it went to, while it runs, and never below zero', () => {
    const { store } = openStore();
    const { windowStartMs } = store.add('k', 100, HOUR, T0);
    expect(store.refund('k', 30, windowStartMs, HOUR, T0 + 1000)).toBe(30);
    expect(store.snapshot(['k']).get('k')?.value).toBe(70);
    // More than the counter holds (another device's report rebased it lower): down to zero, not below.
    expect(store.refund('k', 500, windowStartMs, HOUR, T0 + 2000)).toBe(70);
    expect(store.snapshot(['k']).get('k')?.value).toBe(0);
    // Not into another run of the window: neither one that began later, nor after the run is over.
    store.add('k', 50, HOUR, T0 + 3000);
    expect(store.refund('k', 10, windowStartMs - 1, HOUR, T0 + 4000)).toBe(0);
    expect(store.refund('k', 10, windowStartMs, HOUR, T0 + HOUR + 1)).toBe(0);
    expect(store.snapshot(['k']).get('k')?.value).toBe(50);
    expect(store.refund('absent', 10, windowStartMs, HOUR, T0)).toBe(0);
  });

  it('adds within a window and resets lazily at the first use after it ends (Bifrost semantics)', () => {
    const { store } = openStore();
    expect(store.add('k', 1, HOUR, T0)).toEqual({ before: 0, after: 1, windowStartMs: T0, newWindow: true });
    expect(store.add('k', 2, HOUR, T0 + 10_000)).toEqual({ before: 1, after: 3, windowStartMs: T0, newWindow: false });
    expect(store.add('k', 1, HOUR, T0 + HOUR - 1)).toMatchObject({ after: 4, windowStartMs: T0 });
    // The window ended at T0 + 1h; the next use starts a new one then and there.
    expect(store.add('k', 5, HOUR, T0 + HOUR + 30_000)).toEqual({ before: 0, after: 5, windowStartMs: T0 + HOUR + 30_000, newWindow: true });
    expect(store.snapshot(['k', 'missing'])).toEqual(new Map([['k', { value: 5, windowStartMs: T0 + HOUR + 30_000 }]]));
  });

  it('counters survive closing and reopening the database file', () => {
    const first = openStore();
    first.store.add('vk:a|requests|1h', 1, HOUR, T0);
    first.store.add('vk:a|requests|1h', 1, HOUR, T0 + 1000);
    first.store.add('vk:a|spend|1d', 0.25, 24 * HOUR, T0);
    first.db.close();

    const second = openStore();
    expect(second.store.snapshot(['vk:a|requests|1h', 'vk:a|spend|1d'])).toEqual(new Map([
      ['vk:a|requests|1h', { value: 2, windowStartMs: T0 }],
      ['vk:a|spend|1d', { value: 0.25, windowStartMs: T0 }],
    ]));
    expect(second.store.add('vk:a|requests|1h', 1, HOUR, T0 + 2000).after).toBe(3);
  });

  it('rebase takes the larger of local and reported usage, and the gateway window', () => {
    const { store } = openStore();
    store.add('k', 2, HOUR, T0);
    store.rebase('k', { used: 5, windowStartMs: T0 - 600_000 }, HOUR, T0 + 1000);
    expect(store.snapshot(['k']).get('k')).toEqual({ value: 5, windowStartMs: T0 - 600_000 });
    // Lower reports of the same window do not reduce what this device has counted.
    store.rebase('k', { used: 1, windowStartMs: T0 - 600_000 }, HOUR, T0 + 2000);
    expect(store.snapshot(['k']).get('k')?.value).toBe(5);
    // Reports from a window that has ended are ignored.
    store.rebase('other', { used: 9, windowStartMs: T0 - 2 * HOUR }, HOUR, T0);
    expect(store.snapshot(['other']).size).toBe(0);
  });

  it('an alert fires once per threshold per window, also across restarts', () => {
    const first = openStore();
    expect(first.store.markAlert('k', T0, 0.8, T0)).toBe(true);
    expect(first.store.markAlert('k', T0, 0.8, T0 + 1)).toBe(false);
    expect(first.store.markAlert('k', T0, 0.95, T0 + 2)).toBe(true);
    first.db.close();
    const second = openStore();
    expect(second.store.markAlert('k', T0, 0.8, T0 + 3)).toBe(false);
    expect(second.store.markAlert('k', T0 + HOUR, 0.8, T0 + HOUR)).toBe(true);
  });

  it('prunes windows nobody touched for a long time', () => {
    const { store } = openStore();
    store.add('old', 1, HOUR, T0 - 100 * 24 * HOUR);
    store.add('new', 1, HOUR, T0);
    expect(store.prune(90 * 24 * HOUR, T0)).toBe(1);
    expect([...store.snapshot(['old', 'new']).keys()]).toEqual(['new']);
  });
});

describe('SqliteShadowAiRegistry', () => {
  it('keeps first/last seen and a count, across restarts', () => {
    const first = openStore();
    const registry = new SqliteShadowAiRegistry(first.db);
    expect(registry.record('host', 'api.together.xyz', undefined, new Date(T0))).toBe(true);
    expect(registry.record('host', 'api.together.xyz', 'curl/8.0', new Date(T0 + 1000))).toBe(false);
    first.db.close();
    const again = new SqliteShadowAiRegistry(openStore().db);
    again.record('app', 'ua:weird-tool', 'api.openai.com', new Date(T0 + 2000));
    expect(again.list()).toEqual([
      { kind: 'app', name: 'ua:weird-tool', detail: 'api.openai.com', firstSeen: '2025-06-01T12:00:02.000Z', lastSeen: '2025-06-01T12:00:02.000Z', count: 1 },
      { kind: 'host', name: 'api.together.xyz', detail: 'curl/8.0', firstSeen: '2025-06-01T12:00:00.000Z', lastSeen: '2025-06-01T12:00:01.000Z', count: 2 },
    ]);
  });
});
