/**
 * Whether the device may forward for the person at the keyboard. A bundle from an OIDC enrollment
 * carries that person's virtual keys: they count only while that same person is signed in. After a
 * sign-out, or while someone else's sign-in waits for its own enrollment, AI requests get
 * `virtual_key_required` instead of going out with the previous person's key.
 */
export interface SignInFacts {
  /** Local mode sends no virtual key: nothing to sign in for. */
  localMode: boolean;
  /** `gateway.virtualKey` in the (managed) configuration. */
  configuredKey: boolean;
  /** OIDC sign-in is configured (`auth`): without it nobody can sign in, and a bundle's subject is only a label. */
  signInConfigured: boolean;
  /** The OIDC session's subject, when someone is signed in. */
  sessionSubject?: string;
  /** The enforced bundle: whose it is, and whether it holds usable key values. */
  bundle?: { subject?: string; hasKeyValues: boolean };
}

/** Subjects of virtual-key enrollments (`virtual-key:<id>`): the key, not a person, owns that bundle. */
const VIRTUAL_KEY_SUBJECT = /^virtual-key:/;

export function isSignedIn(facts: SignInFacts): boolean {
  if (facts.localMode) return true;
  const bundleSubject = facts.bundle?.subject;
  const personal = facts.signInConfigured && bundleSubject !== undefined && !VIRTUAL_KEY_SUBJECT.test(bundleSubject);
  if (personal && facts.sessionSubject !== bundleSubject) return facts.configuredKey;
  return facts.configuredKey || (facts.bundle?.hasKeyValues ?? false) || facts.sessionSubject !== undefined;
}
