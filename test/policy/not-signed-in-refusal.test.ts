import { describe, expect, it } from 'vitest';
import { decideRequest } from '../../src/policy/decide.js';
import { decisionInput, request } from './support.js';

/**
 * Gateway mode with no virtual key and no `auth` section (reproduced in /tmp/review-ux2/login-misdirect.sh):
 * every AI request was refused with only "run `bifrost-edge login`", and `login` then answered "Sign-in is
 * not configured on this device" (exit 2). The refusal must also name what does work there: a virtual key
 * in the configuration, or one enrolled through Edge Control.
 */
describe('the not-signed-in refusal', () => {
  it('names the virtual-key settings for devices without sign-in, besides sign-in itself', () => {
    const decision = decideRequest(decisionInput({ bundle: undefined, signedIn: false, request: request({ provider: 'openai', model: 'gpt-4o' }) }));
    expect(decision.action).toBe('block');
    if (decision.action !== 'block') return;
    expect({ type: decision.error.type, status: decision.error.status }).toEqual({ type: 'virtual_key_required', status: 401 });
    const message = decision.error.message;
    expect(message).toContain('bifrost-edge login');
    expect(message).toContain('gateway.virtualKey');
    expect(message).toContain('BIFROST_EDGE_VIRTUAL_KEY');
    expect(message).toContain('bifrost-edge login --virtual-key');
    // The person at the keyboard learns what to do and what to ask for, not only a command that may not work.
    expect(message).toMatch(/If sign-in is not set up on this device/);
  });
});
