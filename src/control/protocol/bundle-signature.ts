import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import type { BundleSignatureSchema, PolicyBundle, SignedPolicyBundle } from './policy-bundle.js';
import type { SigningPublicKey } from './enrollment.js';
import type { z } from 'zod';

type BundleSignature = z.output<typeof BundleSignatureSchema>;

/**
 * A signing key's id is its fingerprint: `ed25519:` + the first 32 hex digits of SHA-256 over the
 * SPKI DER. Deriving it (instead of naming keys by hand) means a pinned public key and the id in a
 * signature can never disagree, and rotating keys needs no naming scheme.
 */
export function signingKeyId(publicKey: KeyObject): string {
  assertEd25519(publicKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 32)}`;
}

/** The bytes that are signed and hashed: canonical JSON of the bundle exactly as sent on the wire. */
export function bundleSigningInput(bundle: unknown): Buffer {
  return Buffer.from(canonicalJson(bundle), 'utf8');
}

/** ETag of a bundle: quoted SHA-256 of its canonical JSON. Equal content ⇔ equal ETag. */
export function bundleEtag(bundle: unknown): string {
  return `"${createHash('sha256').update(bundleSigningInput(bundle)).digest('hex')}"`;
}

/** Signs a fully parsed bundle (defaults filled in) so that what is signed is exactly what is sent. */
export function signBundle(bundle: PolicyBundle, privateKey: KeyObject): SignedPolicyBundle {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new Error('bundle signing needs an Ed25519 private key');
  }
  const publicKey = createPublicKey(privateKey);
  return {
    bundle,
    signature: {
      alg: 'Ed25519',
      key_id: signingKeyId(publicKey),
      value: sign(null, bundleSigningInput(bundle), privateKey).toString('base64'),
    },
  };
}

export type SignatureCheck =
  | { ok: true }
  /** `untrustedKeyId` is set when the signer is a key the device does not trust (as opposed to a bad signature). */
  | { ok: false; reason: string; untrustedKeyId?: string };

/**
 * Checks a signature over the bundle *as received* (not a re-parsed copy: parsing fills defaults,
 * and the signature must cover the bytes the server sent). `trustedKeys` maps key id → public key.
 */
export function verifyBundleSignature(rawBundle: unknown, signature: BundleSignature, trustedKeys: ReadonlyMap<string, KeyObject>): SignatureCheck {
  const key = trustedKeys.get(signature.key_id);
  if (!key) {
    const known = [...trustedKeys.keys()].join(', ') || 'none';
    return {
      ok: false,
      untrustedKeyId: signature.key_id,
      reason: `bundle is signed with key ${signature.key_id}, which this device does not trust (trusted: ${known}); pin the control server's current public key or enroll again`,
    };
  }
  let valid = false;
  try {
    valid = verify(null, bundleSigningInput(rawBundle), key, Buffer.from(signature.value, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: `the Ed25519 signature by ${signature.key_id} does not match the bundle content (tampered or corrupted)` };
}

/** Turns PEM public keys (from config or an enrollment answer) into the key-id map `verifyBundleSignature` takes. */
export function trustedKeyMap(pems: Iterable<string>): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const pem of pems) {
    const key = createPublicKey(pem);
    out.set(signingKeyId(key), key);
  }
  return out;
}

/**
 * Why a wire-form key cannot be trusted as described (a PEM that is not an Ed25519 public key, or a
 * `key_id` that is not its fingerprint), or undefined when it is sound. An id that disagrees with
 * its key would let one key pose as another in logs and in the trusted set.
 */
export function signingKeyProblem(described: SigningPublicKey): string | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey(described.public_key_pem);
  } catch {
    return `key ${described.key_id} is not a readable public key PEM`;
  }
  if (key.asymmetricKeyType !== 'ed25519') return `key ${described.key_id} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`;
  const actual = signingKeyId(key);
  return actual === described.key_id ? undefined : `key ${described.key_id} is really ${actual} (its id is not its fingerprint)`;
}

/** The wire form of a public signing key. */
export function describeSigningKey(publicKey: KeyObject): SigningPublicKey {
  return {
    key_id: signingKeyId(publicKey),
    alg: 'Ed25519',
    public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}; generate one with: openssl genpkey -algorithm ed25519`);
  }
}
