import { compileGuardrailPolicy, type CompiledGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import type { GuardrailPolicyInput } from '../../src/guardrails/policy.js';

/** Compiles a guardrail policy a test wrote; one that does not compile is the test's own mistake. */
export function compile(input: GuardrailPolicyInput | object = {}): CompiledGuardrailPolicy {
  const result = compileGuardrailPolicy(input);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.policy;
}
