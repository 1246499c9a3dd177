/**
 * Public surface of the on-device guardrails. Everything here is pure: no I/O, no timers, no globals beyond
 * the compiled regexes. Typical use by the proxy:
 *
 *   const compiled = compileGuardrailPolicy(policyJson);          // once per policy update
 *   if (!compiled.ok) report(compiled.errors);
 *   const result = applyGuardrails(request.texts, body, compiled.policy);   // per request
 *   const scanner = createStreamScanner(compiled.policy);         // per streamed response
 */
export { applyGuardrails, describeFindings, GUARDRAIL_BLOCK_STATUS, GUARDRAIL_WARN_STATUS } from './apply-guardrails.js';
export type { GuardrailDecision, GuardrailFinding, GuardrailResult } from './apply-guardrails.js';
export { actionFor, compileGuardrailPolicy, ensureCompiled, GuardrailPolicyError } from './compile-policy.js';
export type { CompiledGuardrailPolicy, PolicyCompilation } from './compile-policy.js';
export { compileCustomRule } from './custom-rules.js';
export { FINDING_TYPES, PII_TYPES } from './finding.js';
export type { Finding, FindingType, PiiType } from './finding.js';
export {
  CustomRuleSchema,
  DEFAULT_ACTIONS,
  DEFAULT_MAX_INSPECT_BYTES,
  GuardrailActionSchema,
  GuardrailPolicySchema,
} from './policy.js';
export type { CustomRule, GuardrailAction, GuardrailPolicy, GuardrailPolicyInput } from './policy.js';
export { runScanCommand } from './scan-command.js';
export type { ScanCommandInput, ScanCommandOutput } from './scan-command.js';
export { scanText } from './scan-text.js';
export { SECRET_RULES } from './secret-rules/index.js';
export type { SecretRule } from './secret-rules/index.js';
export { createStreamScanner } from './stream-scanner.js';
export type { StreamFinding, StreamScanner, StreamScannerOptions } from './stream-scanner.js';
