/**
 * The guardrail policy: which detectors run, what happens when they fire, administrator rules, and how much
 * text is inspected. One zod schema, shared by the agent (which enforces it) and Edge Control (which serves it).
 *
 * Unknown top-level keys are ignored so an older agent accepts a policy written for a newer one; custom rules
 * are strict, because a misspelt `patern` would otherwise silently disable a rule.
 */
import { z } from 'zod';
import { FINDING_TYPES, PII_TYPES, type FindingType } from './finding.js';

export const GuardrailActionSchema = z.enum(['block', 'redact', 'flag']);
export type GuardrailAction = z.infer<typeof GuardrailActionSchema>;

export const PiiTypeSchema = z.enum(PII_TYPES);
export const FindingTypeSchema = z.enum(FINDING_TYPES);

export const CustomRuleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'use 1-64 letters, digits, "_", ".", ":" or "-", starting with a letter or digit'),
    /** Shown to the user when the rule blocks or flags: say why and what to do instead. */
    message: z.string().min(1).max(500),
    /** Regex source (no slashes). Matching is always global. */
    pattern: z.string().min(1).max(2000).optional(),
    /** Regex flags: any of i, m, s, u. */
    flags: z.string().regex(/^[imsu]{0,4}$/, 'use only the flags i, m, s, u').optional(),
    /** Words or phrases matched case-insensitively as whole words; an alternative to `pattern`. */
    keywords: z.array(z.string().min(1).max(200)).min(1).max(1000).optional(),
    /** Overrides `actions.custom` for this rule. */
    action: GuardrailActionSchema.optional(),
  })
  .strict()
  .refine((rule) => (rule.pattern === undefined) !== (rule.keywords === undefined), {
    message: 'give exactly one of "pattern" or "keywords"',
  });
export type CustomRule = z.infer<typeof CustomRuleSchema>;

/** What each finding type does unless the policy says otherwise: credentials stop the request, PII is masked. */
export const DEFAULT_ACTIONS: Readonly<Record<FindingType, GuardrailAction>> = {
  secret: 'block',
  email: 'redact',
  phone: 'redact',
  credit_card: 'redact',
  iban: 'redact',
  us_ssn: 'redact',
  ip_address: 'flag',
  national_id: 'redact',
  passport: 'redact',
  date_of_birth: 'redact',
  custom: 'block',
};

export const DEFAULT_MAX_INSPECT_BYTES = 2 * 1024 * 1024;
export const MAX_MAX_INSPECT_BYTES = 32 * 1024 * 1024;

export const GuardrailPolicySchema = z.object({
  enabled: z.boolean().default(true),
  /** `warn`: never block or rewrite, report every finding as `flag` (Bifrost's warn-only, status 246). */
  mode: z.enum(['enforce', 'warn']).default('enforce'),
  /** Credential detectors on/off. */
  secrets: z.boolean().default(true),
  /** PII detectors: all, none, or the listed types. */
  pii: z.union([z.boolean(), z.array(PiiTypeSchema)]).default(true),
  /** Built-in rule ids to switch off (e.g. `generic-api-key`, `ipv4`, `phone-in-mobile`). */
  disabledRules: z.array(z.string()).default([]),
  /** Action per finding type, merged over DEFAULT_ACTIONS. */
  actions: z.partialRecord(FindingTypeSchema, GuardrailActionSchema).default({}),
  customRules: z.array(CustomRuleSchema).max(500).default([]),
  /** Findings below this confidence are dropped (private IP ranges score 0.4, bare test card numbers 0.5). */
  minConfidence: z.number().min(0).max(1).default(0.5),
  /** Upper bound on inspected text per request (UTF-8 bytes over all text spans) and per response stream. */
  maxInspectBytes: z.number().int().min(1024).max(MAX_MAX_INSPECT_BYTES).default(DEFAULT_MAX_INSPECT_BYTES),
  /** Over the bound: refuse the request, or let it through uninspected (and say so in the result). */
  oversize: z.enum(['block', 'pass_uninspected']).default('block'),
  /**
   * Content safety delegated to the gateway: the prompt goes to Bifrost's moderation route with this
   * model, and a category score at or above the threshold blocks (446). Without a reachable gateway,
   * the policy's fail mode decides.
   */
  /** Also scan streamed and JSON answers for secrets and PII; findings only flag (the answer is already out). */
  scanResponses: z.boolean().default(false),
  contentSafety: z.strictObject({
    model: z.string().min(1),
    threshold: z.number().gt(0).lte(1).default(0.5),
  }).optional(),
});
export type GuardrailPolicy = z.infer<typeof GuardrailPolicySchema>;

/**
 * Top-level fields of a guardrail section this version does not know. The schema lets them pass (a bundle
 * from a newer Edge Control), so whoever reads a section an admin just wrote (a config file, a policy
 * edit) checks them: "customrules" or "scanResponse" would otherwise leave a protection silently off.
 */
export function unknownGuardrailFields(section: unknown): string[] {
  if (section === null || typeof section !== 'object' || Array.isArray(section)) return [];
  return Object.keys(section).filter((key) => !Object.hasOwn(GuardrailPolicySchema.shape, key));
}
/** What a policy author writes: every field optional. */
export type GuardrailPolicyInput = z.input<typeof GuardrailPolicySchema>;
