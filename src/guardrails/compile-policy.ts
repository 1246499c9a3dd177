/**
 * Turns a policy document into what the scanner runs: the selected rules and detectors, the action table,
 * and validated custom rules. Compiling is the fallible step (custom rules must parse and fit the linear-time
 * engine), so do it once when a policy arrives and reuse the result for every request.
 */
import { compileCustomRule, type CompiledCustomRule } from './custom-rules.js';
import { PII_TYPES, type Finding, type FindingType, type PiiType } from './finding.js';
import { PII_DETECTORS, type PiiDetector } from './pii/index.js';
import { DEFAULT_ACTIONS, GuardrailPolicySchema, type GuardrailAction, type GuardrailPolicy } from './policy.js';
import { SECRET_RULES, type SecretRule } from './secret-rules/index.js';

export interface CompiledGuardrailPolicy {
  readonly kind: 'compiled-guardrail-policy';
  readonly policy: GuardrailPolicy;
  readonly secretRules: readonly SecretRule[];
  readonly piiDetectors: readonly PiiDetector[];
  readonly customRules: readonly CompiledCustomRule[];
  /** Built-in rule ids switched off by policy (PII detectors report several rule ids each). */
  readonly disabledRuleIds: ReadonlySet<string>;
  readonly actions: Readonly<Record<FindingType, GuardrailAction>>;
}

export type PolicyCompilation = { ok: true; policy: CompiledGuardrailPolicy } | { ok: false; errors: string[] };

export function compileGuardrailPolicy(input: unknown): PolicyCompilation {
  const parsed = GuardrailPolicySchema.safeParse(input ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'policy'}: ${issue.message}`),
    };
  }
  const policy = parsed.data;
  const customRules: CompiledCustomRule[] = [];
  const errors: string[] = [];
  const seenIds = new Set<string>();
  for (const definition of policy.customRules) {
    if (seenIds.has(definition.id)) {
      errors.push(`custom rule "${definition.id}": id is used twice; give each rule its own id`);
      continue;
    }
    seenIds.add(definition.id);
    const compiled = compileCustomRule(definition);
    if (compiled.ok) customRules.push(compiled.rule);
    else errors.push(compiled.error);
  }
  if (errors.length > 0) return { ok: false, errors };

  const disabledRuleIds = new Set(policy.disabledRules);
  const piiTypes: readonly PiiType[] = policy.pii === true ? PII_TYPES : policy.pii === false ? [] : policy.pii;
  return {
    ok: true,
    policy: {
      kind: 'compiled-guardrail-policy',
      policy,
      secretRules: policy.secrets ? SECRET_RULES.filter((rule) => !disabledRuleIds.has(rule.id)) : [],
      piiDetectors: piiTypes.map((type) => PII_DETECTORS[type]),
      customRules,
      disabledRuleIds,
      actions: { ...DEFAULT_ACTIONS, ...policy.actions },
    },
  };
}

/** Thrown by the convenience paths that accept an uncompiled policy; carries every problem found. */
export class GuardrailPolicyError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid guardrail policy: ${errors.join('; ')}`);
    this.name = 'GuardrailPolicyError';
  }
}

const compiledCache = new WeakMap<object, CompiledGuardrailPolicy>();

/** Accepts a compiled policy as is; compiles (and caches per object) anything else, throwing when invalid. */
export function ensureCompiled(policy: CompiledGuardrailPolicy | unknown): CompiledGuardrailPolicy {
  if (isCompiled(policy)) return policy;
  const cacheable = typeof policy === 'object' && policy !== null;
  const cached = cacheable ? compiledCache.get(policy) : undefined;
  if (cached) return cached;
  const result = compileGuardrailPolicy(policy);
  if (!result.ok) throw new GuardrailPolicyError(result.errors);
  if (cacheable) compiledCache.set(policy, result.policy);
  return result.policy;
}

function isCompiled(policy: unknown): policy is CompiledGuardrailPolicy {
  return typeof policy === 'object' && policy !== null && (policy as { kind?: unknown }).kind === 'compiled-guardrail-policy';
}

/** The action a finding triggers under this policy; warn mode turns everything into `flag`. */
export function actionFor(finding: Finding, compiled: CompiledGuardrailPolicy): GuardrailAction {
  if (compiled.policy.mode === 'warn') return 'flag';
  if (finding.type === 'custom') {
    const rule = compiled.customRules.find((r) => r.id === finding.ruleId);
    if (rule?.action) return rule.action;
  }
  return compiled.actions[finding.type];
}
