import { describe, expect, it } from 'vitest';
import { watchSavedSignIn } from '../../src/auth/saved-sign-in-watch.js';
import { waitFor } from '../control/support/control-fixture.js';

const until = (what: string, check: () => boolean) => waitFor(check, 2_000, what);

describe('watchSavedSignIn', () => {
  it('reports a sign-in that appears once, and absence at every check, after a silent baseline', async () => {
    let saved = true;
    let checks = 0;
    const events: string[] = [];
    const stop = watchSavedSignIn({ hasSaved: async () => { checks++; return saved; } }, {
      appeared: () => events.push('appeared'),
      absent: () => events.push('absent'),
    }, 10);
    try {
      // Saved from the start: the baseline, nothing to report however often it looks.
      await until('a few checks', () => checks >= 3);
      expect(events).toEqual([]);
      saved = false;
      await until('absence', () => events.filter((e) => e === 'absent').length >= 2);
      expect(events.includes('appeared')).toBe(false);
      saved = true;
      await until('the new sign-in', () => events.includes('appeared'));
      const seen = checks;
      await until('more checks', () => checks >= seen + 3);
      expect(events.filter((e) => e === 'appeared')).toHaveLength(1);
    } finally {
      stop();
    }
    const stoppedAt = checks;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(checks).toBe(stoppedAt);
  });

  it('reports presence at every check after the baseline, so a sign-in saved over another one is seen', async () => {
    let saved = true;
    let checks = 0;
    const events: string[] = [];
    const stop = watchSavedSignIn({ hasSaved: async () => { checks++; return saved; } }, {
      appeared: () => events.push('appeared'),
      present: () => events.push('present'),
    }, 10);
    try {
      await until('presence twice', () => events.filter((e) => e === 'present').length >= 2);
      // The baseline check is silent, every later one with something saved says so.
      expect(events.filter((e) => e === 'present').length).toBeLessThan(checks);
      expect(events.includes('appeared')).toBe(false);
      saved = false;
      const seen = checks;
      await until('checks while nothing is saved', () => checks >= seen + 2);
      const before = events.length;
      saved = true;
      await until('the new sign-in', () => events.length >= before + 2);
      expect(events.slice(before, before + 2)).toEqual(['appeared', 'present']);
    } finally {
      stop();
    }
  });

  it('does not pile checks up behind a slow store, and survives a failing one', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const stop = watchSavedSignIn({
      hasSaved: async () => {
        calls++;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 40));
        inFlight--;
        if (calls === 2) throw new Error('disk hiccup');
        return false;
      },
    }, { absent: () => { throw new Error('handler failed'); } }, 5);
    try {
      await until('several slow checks', () => calls >= 4);
      expect(most).toBe(1);
    } finally {
      stop();
    }
  });
});
