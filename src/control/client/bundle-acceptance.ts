import type { KeyObject } from 'node:crypto';
import { bundleEtag, verifyBundleSignature } from '../protocol/bundle-signature.js';
import { SignedPolicyBundleSchema, type SignedPolicyBundle } from '../protocol/policy-bundle.js';
import { announcedKeysProblem } from './signing-key-trust.js';

export type BundleJudgement =
  | { verdict: 'accept'; signed: SignedPolicyBundle; etag: string }
  /** The same version and content as the current bundle: nothing to do. */
  | { verdict: 'unchanged' }
  /** `untrustedKeyId`: the signature is by a key the device does not trust (it may have missed a key rotation). */
  | { verdict: 'reject'; reason: string; untrustedKeyId?: string };

/** What the device enforces now, as far as deciding on a candidate goes. */
export interface CurrentBundle {
  version: number;
  etag: string;
}

/**
 * Decides whether a device may switch to a signed bundle it received (from the server or its own
 * cache). Refused: anything that does not parse as a signed bundle, a signature that does not verify
 * with a trusted key, a bundle issued for another device (`deviceId`: this device's enrollment, undefined
 * when it has none), a version below the current one (a replay), the current version with different
 * content (a server must never reuse a version number), and an announced signing-key set that is
 * unusable or leaves out the key that signed the bundle. A bundle naming no device comes from a
 * server that predates `device_id`; the caller decides whether its version may count as a floor.
 */
export function judgeSignedBundle(raw: unknown, current: CurrentBundle | undefined, trustedKeys: ReadonlyMap<string, KeyObject>, deviceId?: string): BundleJudgement {
  const parsed = SignedPolicyBundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { verdict: 'reject', reason: `malformed bundle (${issues})` };
  }
  const rawBundle = (raw as { bundle: unknown }).bundle;
  const signature = verifyBundleSignature(rawBundle, parsed.data.signature, trustedKeys);
  if (!signature.ok) {
    return signature.untrustedKeyId === undefined
      ? { verdict: 'reject', reason: signature.reason }
      : { verdict: 'reject', reason: signature.reason, untrustedKeyId: signature.untrustedKeyId };
  }
  const announced = parsed.data.bundle.signing_keys;
  const announcement = announced ? announcedKeysProblem(announced, parsed.data.signature.key_id) : undefined;
  if (announcement) return { verdict: 'reject', reason: `the bundle's signing_keys ${announcement}` };
  const issuedFor = parsed.data.bundle.device_id;
  if (issuedFor !== undefined && issuedFor !== deviceId) {
    return {
      verdict: 'reject',
      reason: deviceId === undefined
        ? `the bundle was issued for device ${issuedFor}, and this device has no enrollment to compare it with (it enrolls again and fetches its own)`
        : `the bundle was issued for device ${issuedFor}, not for this device (${deviceId}); a bundle copied from another enrollment is never enforced`,
    };
  }
  const etag = bundleEtag(rawBundle);
  const version = parsed.data.bundle.version;
  if (current) {
    if (version < current.version) {
      return { verdict: 'reject', reason: `bundle version ${version} is older than the enforced version ${current.version} (a replayed or stale bundle)` };
    }
    if (version === current.version) {
      if (etag === current.etag) return { verdict: 'unchanged' };
      return { verdict: 'reject', reason: `bundle version ${version} has different content from the enforced bundle with the same version (versions must only go up)` };
    }
  }
  return { verdict: 'accept', signed: parsed.data, etag };
}
