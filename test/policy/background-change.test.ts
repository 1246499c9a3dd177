import { expect, it } from 'vitest';
import { LedgerChanges } from '../../src/policy/background-change.js';

/**
 * What follows a committed change, and the undos of a rolled-back one, each run whatever another of them does: a
 * throw is told to onError, never skips the rest, and never replaces what the change itself returned or threw.
 */

function ledger() {
  const errors: string[] = [];
  const changes = new LedgerChanges((err, context) => errors.push(`${context}: ${(err as Error).message}`));
  return { changes, errors };
}

it('a committed change runs every afterCommit, one that throws told to onError, and returns what it returned', () => {
  const { changes, errors } = ledger();
  const ran: string[] = [];
  const result = changes.run(() => {
    changes.afterCommit(() => { ran.push('release hold'); throw new Error('listener threw'); });
    changes.afterCommit(() => ran.push('record charge'));
    return 'ok';
  }, () => false);
  expect(result).toBe('ok');
  expect(ran).toEqual(['release hold', 'record charge']);
  expect(errors).toEqual(['finishing a background ledger change that committed: listener threw']);
  expect(changes.active).toBe(false);
});

it('a rolled-back change runs every undo, newest first, one that throws told to onError, and throws its own error', () => {
  const { changes, errors } = ledger();
  const ran: string[] = [];
  expect(() => changes.run(() => {
    changes.undo(() => ran.push('older undo'));
    changes.undo(() => { throw new Error('undo threw'); });
    throw new Error('original');
  }, () => true)).toThrow('original');
  expect(ran).toEqual(['older undo']);
  expect(errors).toEqual(['undoing in memory a background ledger change rolled back: undo threw']);
  expect(changes.active).toBe(false);
});
