import type { KeyObject } from 'node:crypto';
import { signingKeyProblem, trustedKeyMap } from '../protocol/bundle-signature.js';
import type { SigningPublicKey } from '../protocol/enrollment.js';

/**
 * Pure rules for the device's trusted set of bundle-signing keys. The set starts with the
 * enrollment answer (or the pinned keys) and then follows the `signing_keys` announced inside
 * signed bundles, which is how a server rotates its key without re-enrolling its devices.
 */

/**
 * Why a bundle's announced key set must not become the trusted set, or undefined when it may.
 * Leaving out the key that signed the bundle would lock the device out of the next bundle by the
 * same server: that is a server mistake, and the device refuses the whole bundle rather than
 * follow it.
 */
export function announcedKeysProblem(announced: readonly SigningPublicKey[], signerKeyId: string): string | undefined {
  for (const key of announced) {
    const problem = signingKeyProblem(key);
    if (problem) return `announce an unusable signing key: ${problem}`;
  }
  if (!announced.some((k) => k.key_id === signerKeyId)) {
    return `announce signing keys (${announced.map((k) => k.key_id).join(', ')}) that leave out ${signerKeyId}, the key that signed it`;
  }
  return undefined;
}

/** The key-id → public-key map that signature checks take. */
export function trustMapOf(keys: readonly SigningPublicKey[]): Map<string, KeyObject> {
  return trustedKeyMap(keys.map((k) => k.public_key_pem));
}

/** Which key ids a change of the trusted set adds and removes (empty lists: the same set). */
export function keySetChange(before: readonly SigningPublicKey[], after: readonly SigningPublicKey[]): { added: string[]; removed: string[] } {
  const old = new Set(before.map((k) => k.key_id));
  const now = new Set(after.map((k) => k.key_id));
  return { added: [...now].filter((id) => !old.has(id)), removed: [...old].filter((id) => !now.has(id)) };
}

/** Announced keys a pinned device will not trust because they are not among its pins. */
export function unpinnedKeys(announced: readonly SigningPublicKey[], pinned: ReadonlyMap<string, KeyObject>): string[] {
  return announced.map((k) => k.key_id).filter((id) => !pinned.has(id));
}
