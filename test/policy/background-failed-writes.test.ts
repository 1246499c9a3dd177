import { afterEach, beforeEach, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { BackgroundAgent, PAST_THE_WAIT_MS } from './background-agent.js';

/**
 * A change of background work (an entry given up and charged) is written in one transaction with the counters'
 * writes (background-store.ts atomically). A journal write that fails in it rolls the whole change back: swallowed,
 * it let the rest commit without it (SQLite may end the transaction itself on a full disk or an I/O error, and what
 * follows then commits statement by statement), so a row left waiting whose charge went through was charged again
 * after a restart.
 */

let agent: BackgroundAgent;
let errors: string[];
beforeEach(() => {
  agent = new BackgroundAgent();
  agent.start();
  errors = [];
});
afterEach(() => agent.stop());

/** The next DELETE of a background row fails as a full disk does: SQLite rolls the transaction back. */
function failNextDelete(): void {
  agent.db.exec(`
    CREATE TABLE fail_once (armed INTEGER);
    INSERT INTO fail_once VALUES (1);
    CREATE TRIGGER fail_delete BEFORE DELETE ON policy_background_work WHEN (SELECT count(*) FROM fail_once) > 0
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END;`);
}

it('a give-up whose row cannot be forgotten charges nothing: the row still waits, and is charged once after a restart', async () => {
  await agent.startBackground('resp_x');
  agent.clockMs += PAST_THE_WAIT_MS;
  // Its wait ran out while Edge was down: given up by a timer due now, after the failure is armed.
  agent.crashAndRestart({ onError: (err, context) => errors.push(`${context}: ${(err as Error).message}`) });
  failNextDelete();
  expect(await until(() => errors.length > 0)).toBe(true);
  agent.db.exec('DELETE FROM fail_once');
  expect(errors).toEqual(['forgetting background work waiting: database or disk is full']);
  // Rolled back whole: no charge counted, no estimate kept, the row still waiting.
  expect(agent.tokensUsed()).toBe(0);
  expect(agent.late).toEqual([]);
  expect(agent.rows()).toEqual([{ kind: 'waiting', id: 'resp_x' }]);

  expect(await agent.chargedAfterRestart()).toEqual({ charged: [['resp_x', 800, true]], tokensUsed: 800, rows: [{ kind: 'true_up', id: 'resp_x' }] });
});
