import { describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { DEFAULT_ACTIONS, GuardrailPolicySchema } from '../../src/guardrails/policy.js';

describe('guardrail policy schema', () => {
  it('fills defaults for an empty policy', () => {
    const policy = GuardrailPolicySchema.parse({});
    expect(policy).toMatchObject({ enabled: true, mode: 'enforce', secrets: true, pii: true, customRules: [], oversize: 'block', minConfidence: 0.5 });
    expect(DEFAULT_ACTIONS.secret).toBe('block');
  });

  it.each([
    [{ maxInspectBytes: 10 }, 'maxInspectBytes'],
    [{ actions: { email: 'delete' } }, 'actions.email'],
    [{ pii: ['email', 'shoe_size'] }, 'pii'],
    [{ customRules: [{ id: 'x', message: 'm' }] }, 'give exactly one of "pattern" or "keywords"'],
    [{ customRules: [{ id: 'x', message: 'm', pattern: 'a', keywords: ['a'] }] }, 'give exactly one'],
    [{ customRules: [{ id: 'x', message: 'm', patern: 'a' }] }, 'customRules.0'],
    [{ customRules: [{ id: 'has space', message: 'm', pattern: 'a' }] }, 'customRules.0.id'],
    [{ customRules: [{ id: 'a', message: 'm', pattern: 'x' }, { id: 'a', message: 'm', pattern: 'y' }] }, 'custom rule "a": id is used twice'],
    [{ customRules: [{ id: 'evil', message: 'm', pattern: '(a)\\1' }] }, 'custom rule "evil": pattern uses a backreference'],
  ])('rejects %j with an error mentioning %s', (input, fragment) => {
    const result = compileGuardrailPolicy(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(fragment);
  });

  it('ignores unknown top-level keys (newer policies on older agents)', () => {
    expect(compileGuardrailPolicy({ futureFeature: true }).ok).toBe(true);
  });
});
