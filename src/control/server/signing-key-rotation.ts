import type { SigningKeyStatus } from '../protocol/admin-signing-keys.js';

/**
 * Pure rules of signing-key rotation over the key ring's entries. No I/O and no key generation:
 * the key ring (signing-keyring.ts) makes keys, calls these, and persists what comes out.
 *
 * A rotation is three admin steps, each one published to every device in its signed bundle:
 *   rotate  — a new key is announced as `next`: devices add it to their trusted set;
 *   promote — `next` becomes `active` and signs from now on; the old key stays trusted as `previous`;
 *   retire  — a non-active key is no longer announced (devices drop it) and its private key is deleted.
 */

export interface KeyringEntry {
  key_id: string;
  status: SigningKeyStatus;
  /** SPKI PEM. */
  public_key_pem: string;
  /** PKCS#8 PEM; absent once retired, so a retired key can never sign again. */
  private_key_pem?: string;
  created_at: string;
  activated_at?: string;
  retired_at?: string;
}

export interface NewKeyMaterial {
  key_id: string;
  public_key_pem: string;
  private_key_pem: string;
}

/** A refused rotation step: `conflict` (not possible in the current state) or `not_found` (no such key). */
export class KeyRotationError extends Error {
  constructor(readonly kind: 'conflict' | 'not_found', message: string) {
    super(message);
    this.name = 'KeyRotationError';
  }
}

const STATUS_ORDER: Record<SigningKeyStatus, number> = { active: 0, next: 1, previous: 2, retired: 3 };

/** Entries in the order admins and devices see them: active, next, previous, retired (then by age). */
export function orderedEntries(keys: readonly KeyringEntry[]): KeyringEntry[] {
  return [...keys].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.created_at.localeCompare(b.created_at));
}

/** The keys devices must trust now: every key that is not retired, active first. */
export function trustedEntries(keys: readonly KeyringEntry[]): KeyringEntry[] {
  return orderedEntries(keys).filter((k) => k.status !== 'retired');
}

/** Why entries are not a usable key ring (structure only; key material is checked where it is parsed). */
export function keyringStructureProblem(keys: readonly KeyringEntry[]): string | undefined {
  const active = keys.filter((k) => k.status === 'active');
  if (active.length !== 1) return `it must have exactly one active key, found ${active.length}`;
  if (keys.filter((k) => k.status === 'next').length > 1) return 'it has more than one next key';
  const ids = new Set<string>();
  for (const key of keys) {
    if (ids.has(key.key_id)) return `key ${key.key_id} appears twice`;
    ids.add(key.key_id);
    if (key.status === 'retired' && key.private_key_pem !== undefined) return `retired key ${key.key_id} still holds its private key`;
    if (key.status !== 'retired' && key.private_key_pem === undefined) return `${key.status} key ${key.key_id} has no private key`;
  }
  return undefined;
}

/** rotate: announces a freshly generated key as `next`. */
export function announceNextKey(keys: readonly KeyringEntry[], fresh: NewKeyMaterial, now: string): KeyringEntry[] {
  const pending = keys.find((k) => k.status === 'next');
  if (pending) {
    throw new KeyRotationError('conflict', `key ${pending.key_id} is already announced as the next key; promote it (keys promote) or retire it (keys retire --key-id ${pending.key_id}) before starting another rotation`);
  }
  return [...keys, { ...fresh, status: 'next', created_at: now }];
}

/** promote: the `next` key signs from now on; the active one stays trusted as `previous` until retired. */
export function promoteNextKey(keys: readonly KeyringEntry[], now: string): KeyringEntry[] {
  if (!keys.some((k) => k.status === 'next')) {
    throw new KeyRotationError('conflict', 'no next key is announced; run keys rotate first, then promote once devices are up to date (keys list)');
  }
  return keys.map((k) => {
    if (k.status === 'next') return { ...k, status: 'active', activated_at: now };
    if (k.status === 'active') return { ...k, status: 'previous' };
    return k;
  });
}

/**
 * retire: stops announcing a key and forgets its private key. Without an id, the one `previous` key.
 * The active key cannot be retired (promote another one first); a `next` key can (abandoning a rotation).
 */
export function retireKey(keys: readonly KeyringEntry[], keyId: string | undefined, now: string): { keys: KeyringEntry[]; retired: KeyringEntry } {
  const target = keyId === undefined ? defaultRetirement(keys) : keys.find((k) => k.key_id === keyId);
  if (!target) throw new KeyRotationError('not_found', `there is no signing key ${keyId}; keys list shows the key ids`);
  if (target.status === 'active') {
    throw new KeyRotationError('conflict', `key ${target.key_id} is the active key and signs every bundle; rotate and promote a new key before retiring it`);
  }
  if (target.status === 'retired') throw new KeyRotationError('conflict', `key ${target.key_id} was already retired at ${target.retired_at ?? 'an unknown time'}`);
  const retired: KeyringEntry = { ...omitPrivateKey(target), status: 'retired', retired_at: now };
  return { keys: keys.map((k) => (k === target ? retired : k)), retired };
}

function defaultRetirement(keys: readonly KeyringEntry[]): KeyringEntry {
  const previous = keys.filter((k) => k.status === 'previous');
  if (previous.length === 1) return previous[0]!;
  if (previous.length === 0) throw new KeyRotationError('conflict', 'there is no previous key to retire (promote a new key first, or name the key with --key-id)');
  throw new KeyRotationError('conflict', `several previous keys are still trusted (${previous.map((k) => k.key_id).join(', ')}); name the one to retire with --key-id`);
}

function omitPrivateKey(entry: KeyringEntry): KeyringEntry {
  const { private_key_pem: _secret, ...rest } = entry;
  return rest;
}
