import { afterEach, beforeEach, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { BackgroundAgent, PAST_THE_WAIT_MS, response } from './background-agent.js';

/**
 * A change of background work whose write fails is rolled back whole in the database (background-store.ts
 * atomically), and in memory too (background-change.ts): the entry it took or gave up waits on, an estimate it kept or
 * raised is as before, and nothing of it is recorded. Rolled back in the database only, the run went on as if it had
 * been made: a fetch's usage never charged, a refund of what was never charged, a raise recorded but not counted.
 * A counter write that fails in such a change fails it whole too: swallowed, the rest committed without that charge.
 */

let agent: BackgroundAgent;
let errors: string[];
const tellErrors = (err: unknown, context: string) => { errors.push(`${context}: ${(err as Error).message}`); };
beforeEach(() => {
  agent = new BackgroundAgent();
  agent.start();
  errors = [];
});
afterEach(() => agent.stop());

/**
 * The next write `when` matches fails: `ROLLBACK` as a full disk does (SQLite ends the transaction), `ABORT` as a
 * failed statement that leaves the transaction open. Disarmed by `disarm`.
 */
function failNext(on: string, when = 'TRUE', raise: 'ROLLBACK' | 'ABORT' = 'ROLLBACK'): void {
  agent.db.exec(`
    CREATE TABLE fail_once (armed INTEGER);
    INSERT INTO fail_once VALUES (1);
    CREATE TRIGGER fail_write BEFORE ${on} WHEN (${when}) AND (SELECT count(*) FROM fail_once) > 0
    BEGIN SELECT RAISE(${raise}, 'database or disk is full'); END;`);
}
const disarm = () => agent.db.exec('DELETE FROM fail_once');

it('a fetch whose row cannot be forgotten leaves the work waited for: a second fetch charges its usage', async () => {
  agent.crashAndRestart({ onError: tellErrors });
  await agent.startBackground('resp_x');
  failNext('DELETE ON policy_background_work');
  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  disarm();
  expect(errors).toEqual(['forgetting background work waiting: database or disk is full']);
  expect(agent.late).toEqual([]);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_x' }]);

  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  expect(agent.charged()).toEqual([['resp_x', 150, false]]);
  expect(agent.tokensUsed()).toBe(150);
  expect(agent.rows()).toEqual([]);
  // Nothing left for the next start to charge its worst case.
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart();
  expect(agent.charged()).toEqual([]);
  expect(agent.tokensUsed()).toBe(150);
});

it('a give-up whose estimate cannot be kept leaves the work waited for: a later fetch charges its usage, refunds nothing', async () => {
  await agent.exchange('POST', '/v1/responses', response('resp_n', 'completed', { input_tokens: 500, output_tokens: 500 }), { model: 'gpt-4.1-mini', input: 'hi' });
  await agent.startBackground('resp_x');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ onError: tellErrors });
  failNext('INSERT ON policy_background_work', "NEW.kind = 'true_up'");
  expect(await until(() => errors.length > 0)).toBe(true);
  disarm();
  expect(errors).toEqual(['keeping background work true_up: database or disk is full']);
  expect(agent.late).toEqual([]);
  expect(agent.tokensUsed()).toBe(1000);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_x' }]);

  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  expect(agent.charged()).toEqual([['resp_x', 150, false]]);
  expect(agent.late[0]!.trueUp).toBeUndefined();
  expect(agent.tokensUsed()).toBe(1150);
  expect(agent.rows()).toEqual([]);
});

it('an estimate raised whose record cannot be updated stays as it was: the usage fetched later trues up from it', async () => {
  await agent.exchange('POST', '/v1/responses', response('resp_n', 'completed', { input_tokens: 5000, output_tokens: 5000 }), { model: 'gpt-4.1-mini', input: 'hi' });
  await agent.startBackground('resp_x');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ onError: tellErrors });
  expect(await until(() => agent.late.length > 0)).toBe(true);
  expect(agent.charged()).toEqual([['resp_x', 800, true]]);
  expect(agent.tokensUsed()).toBe(10_800);

  failNext('UPDATE ON policy_background_work');
  // A cancel's answer carries 2,000 tokens of text: the estimate would be raised by 1,300.
  await agent.exchange('POST', '/v1/responses/resp_x/cancel', JSON.stringify({
    ...JSON.parse(response('resp_x', 'cancelled')) as object,
    output: [{ type: 'message', id: 'msg_1', status: 'incomplete', role: 'assistant', content: [{ type: 'output_text', text: 'a'.repeat(4 * 2000), annotations: [] }] }],
  }));
  disarm();
  expect(errors).toEqual(['updating background work true_up: database or disk is full']);
  expect(agent.late).toHaveLength(1);
  expect(agent.tokensUsed()).toBe(10_800);

  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  expect(agent.late).toHaveLength(2);
  expect(agent.late[1]!.trueUp?.difference.totalTokens).toBe(-650);
  expect(agent.tokensUsed()).toBe(10_150);
});

it('a give-up whose counter write fails is rolled back whole: still waiting, charged once after a restart', async () => {
  await agent.startBackground('resp_x');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ onError: tellErrors });
  // The statement fails, the transaction goes on: swallowed, the rest committed without the charge.
  failNext('INSERT ON policy_counters', 'TRUE', 'ABORT');
  expect(await until(() => errors.length > 0)).toBe(true);
  disarm();
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^charging .*: database or disk is full$/);
  expect(agent.late).toEqual([]);
  expect(agent.tokensUsed()).toBe(0);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_x' }]);

  expect(await agent.chargedAfterRestart()).toEqual({ charged: [['resp_x', 800, true]], tokensUsed: 800, rows: [{ kind: 'true_up', id: 'resp_x' }] });
});

it('a true-up whose counter write fails is rolled back whole: the estimate stays open, a later fetch trues it up', async () => {
  await agent.startBackground('resp_x');
  agent.clockMs += PAST_THE_WAIT_MS;
  agent.crashAndRestart({ onError: tellErrors });
  expect(await until(() => agent.late.length > 0)).toBe(true);
  expect(agent.tokensUsed()).toBe(800);

  failNext('INSERT ON policy_counters', 'TRUE', 'ABORT');
  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  disarm();
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^truing up .*: database or disk is full$/);
  expect(agent.late).toHaveLength(1);
  expect(agent.tokensUsed()).toBe(800);
  expect(agent.rows()).toEqual([{ kind: 'true_up', id: 'resp_x' }]);

  await agent.fetchBack('resp_x', { input_tokens: 100, output_tokens: 50 });
  expect(agent.late).toHaveLength(2);
  expect(agent.late[1]!.trueUp?.difference.totalTokens).toBe(-650);
  expect(agent.tokensUsed()).toBe(150);
  expect(agent.rows()).toEqual([]);
});
