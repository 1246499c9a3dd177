import { compileGuardrailPolicy, type CompiledGuardrailPolicy } from '../../guardrails/compile-policy.js';
import type { PolicyBundle } from '../../control/protocol/policy-bundle.js';
import type { Logger } from '../../log.js';

/**
 * The guardrail policy in force: the bundle's when it carries one (and it compiles), else the
 * configuration's. A bundle with a broken guardrail section keeps the previous policy and says
 * why, rather than silently dropping protection.
 */
export class GuardrailPolicyHolder {
  private active: CompiledGuardrailPolicy;

  constructor(private readonly fallback: CompiledGuardrailPolicy, private readonly log: Logger) {
    this.active = fallback;
  }

  get current(): CompiledGuardrailPolicy {
    return this.active;
  }

  fromBundle(bundle: PolicyBundle | undefined): void {
    if (bundle?.guardrails === undefined) {
      this.active = this.fallback;
      return;
    }
    const compiled = compileGuardrailPolicy(bundle.guardrails);
    if (compiled.ok) this.active = compiled.policy;
    else this.log.error(`policy version ${bundle.version} has an unusable guardrail section; keeping the previous guardrails`, { errors: compiled.errors });
  }
}
