import { hash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';

/**
 * The audit hash chain, shared by the device (which builds it) and the control server (which checks
 * it): `hash_i = hex(SHA-256(utf8(prev_hash_hex) ‖ utf8(canonicalJson(record_i))))`, where the record
 * is the JSON object exactly as shipped (parsing fills defaults, which would change the hash).
 */
export function auditRecordHash(prevHash: string, record: unknown): string {
  return auditChainLink(prevHash, canonicalJson(record));
}

/** The same link over a record's canonical text, for callers that already hold it (the outbox stores it). */
export function auditChainLink(prevHash: string, canonicalRecordText: string): string {
  // One-shot hash of the joined text (UTF-8 of a concatenation is the concatenation of the UTF-8s):
  // half the cost of a Hash object, and this runs once per audited request.
  return hash('sha256', prevHash + canonicalRecordText, 'hex');
}

/** `prev_hash` of a device's very first record. */
export const AUDIT_CHAIN_GENESIS_HASH = '0'.repeat(64);
