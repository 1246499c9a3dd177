/**
 * The vocabulary every guardrail detector speaks. A finding says *where* something sensitive is and
 * *which rule* saw it — never the sensitive value itself, so findings can be logged and audited freely.
 */

/** Personal data detectors a policy can switch on one by one. */
export const PII_TYPES = [
  'email',
  'phone',
  'credit_card',
  'iban',
  'us_ssn',
  'ip_address',
  'national_id',
  'passport',
  'date_of_birth',
] as const;
export type PiiType = (typeof PII_TYPES)[number];

/** `secret` covers every credential rule; `custom` every rule an administrator wrote in policy. */
export const FINDING_TYPES = ['secret', ...PII_TYPES, 'custom'] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export interface Finding {
  type: FindingType;
  /** Stable id of the rule that fired (`aws-access-key-id`, `email`, or a custom rule's own id). */
  ruleId: string;
  /** UTF-16 offsets into the scanned string; `end` is exclusive. */
  start: number;
  end: number;
  /** 0..1: how sure the rule is. Format-only matches score lower than checksummed or prefixed ones. */
  confidence: number;
}
