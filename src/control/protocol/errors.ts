import { z } from 'zod';

/**
 * Every Edge Control error answer: a machine-readable `type` a client can branch on and a sentence
 * a person can act on. Never contains a secret (tokens, credentials, virtual key values).
 */
export const ControlErrorBodySchema = z.strictObject({
  error: z.strictObject({
    type: z.string().min(1),
    message: z.string().min(1),
    /** Only in an `audit_chain_gap` answer: where the server's copy of the chain ends (AuditChainGapErrorSchema). */
    chain_head: z.strictObject({ seq: z.number().int().nonnegative(), hash: z.string() }).optional(),
  }),
});

export type ControlErrorBody = z.output<typeof ControlErrorBodySchema>;

/**
 * The error types the reference server answers with. Clients must treat unknown types by status
 * (a newer server may add types), so this list documents, it does not close the set.
 */
export const CONTROL_ERROR_TYPES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'token_expired',
  'token_audience_mismatch',
  'token_issuer_untrusted',
  'token_signature_invalid',
  'token_unsigned',
  'token_malformed',
  'identity_provider_unreachable',
  'virtual_key_enrollment_disabled',
  'virtual_key_not_found',
  'virtual_key_inactive',
  'gateway_unavailable',
  'policy_not_ready',
  'idempotency_key_mismatch',
  'idempotency_key_reused',
  'audit_batch_invalid',
  'audit_chain_gap',
  'signing_key_conflict',
  'internal_error',
] as const;

export type ControlErrorType = (typeof CONTROL_ERROR_TYPES)[number];
