import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BackgroundJob } from '../../src/policy/background-responses.js';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { NOW } from './support.js';

/**
 * Entries share their bundle's price list by its hash (background-store.ts). An entry whose list is missing (left by
 * an earlier build, or a list lost with a failed write) loads with no prices: written again, it must not claim the
 * missing list's hash for its empty one, or every later entry of that bundle's prices would load with none.
 */

let dir: string;
let db: PolicyDatabase;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-prices-'));
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const PRICING = { 'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 } };
const noError = () => {};
const job = (pricing: object): BackgroundJob => ({
  target: {
    keyId: 'vk-a', keyLabel: 'vk-a', pricing: pricing as BackgroundJob['target']['pricing'], thresholds: [], provider: 'openai', model: 'gpt-4.1',
    request: { provider: 'openai', model: 'gpt-4.1', operation: 'responses' },
    target: { method: 'POST', host: 'api.openai.com', path: '/v1/responses' }, app: 'probe',
  },
  windows: [], promptTokens: 100, outputTokens: 0,
});
const loadedPrices = (store: SqliteBackgroundStore) =>
  store.load<BackgroundJob>('waiting', NOW.getTime(), Number.POSITIVE_INFINITY).map((e) => [e.id, e.value.target.pricing]);

it('an entry loaded with its price list missing, written again, leaves later entries of that list their prices', () => {
  new SqliteBackgroundStore(db).journal<BackgroundJob>('waiting', noError).added('openai', 'resp_old', 'vk-a', job(PRICING), NOW.getTime());
  db.exec('DELETE FROM policy_background_prices');

  // The next start: loaded with no prices, then changed (more answer seen) and written again.
  const restarted = new SqliteBackgroundStore(db);
  const [old] = restarted.load<BackgroundJob>('waiting', NOW.getTime(), Number.POSITIVE_INFINITY);
  expect(old!.value.target.pricing).toEqual({});
  const journal = restarted.journal<BackgroundJob>('waiting', noError);
  old!.value.outputTokens = 5;
  journal.changed('openai', 'resp_old', old!.value);
  // New work decided under the same bundle prices (a fresh object, as a bundle applied again has).
  journal.added('openai', 'resp_new', 'vk-a', job(structuredClone(PRICING)), NOW.getTime());

  expect(loadedPrices(new SqliteBackgroundStore(db))).toEqual([['resp_old', {}], ['resp_new', PRICING]]);
});
