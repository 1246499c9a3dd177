import { canonicalJson } from '../util/canonical-json.js';
import type { AuditRecord } from '../control/protocol/audit.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditChainLink } from '../control/protocol/audit-chain.js';

/** prev_hash of the first record a device ever writes: 64 zeros (the shared protocol constant). */
export const GENESIS_HASH = AUDIT_CHAIN_GENESIS_HASH;

/**
 * The chain link: SHA-256 over the UTF-8 text `prev_hash ‖ canonicalJson(record)`, where prev_hash is
 * the 64-character lowercase hex of the previous record's hash: the shared protocol link the server
 * checks with, over the canonical text the outbox already holds (no second canonicalization).
 */
export function chainHash(prevHash: string, recordJson: string): string {
  return auditChainLink(prevHash, recordJson);
}

/** The canonical text of a record: what is hashed and what the outbox stores. */
export function recordJson(record: AuditRecord): string {
  return canonicalJson(record);
}

/** Convenience for callers holding a parsed record rather than its stored text. */
export function hashRecord(prevHash: string, record: AuditRecord): string {
  return chainHash(prevHash, recordJson(record));
}
