import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import type { VirtualKey } from '../control/protocol/virtual-key.js';

/**
 * Which of the user's virtual keys the device sends: the one the bundle names, else the first key that is
 * active and not expired. A named key that is inactive or expired is still the one chosen (and refused),
 * so the person learns their key was switched off rather than silently using another one.
 */
export type KeySelection =
  | { kind: 'usable'; key: VirtualKey }
  | { kind: 'none' }
  | { kind: 'named-missing'; id: string }
  | { kind: 'inactive'; key: VirtualKey }
  | { kind: 'expired'; key: VirtualKey; expiredAt: Date };

export function isExpired(key: VirtualKey, now: Date): Date | undefined {
  if (!key.expires_at) return undefined;
  const at = new Date(key.expires_at);
  return at.getTime() <= now.getTime() ? at : undefined;
}

export function selectActiveKey(bundle: PolicyBundle, now: Date): KeySelection {
  const keys = bundle.virtual_keys;
  if (bundle.active_virtual_key_id !== undefined) {
    const named = keys.find((k) => k.id === bundle.active_virtual_key_id);
    return named ? judge(named, now) : { kind: 'named-missing', id: bundle.active_virtual_key_id };
  }
  const usable = keys.find((k) => k.is_active && isExpired(k, now) === undefined);
  if (usable) return { kind: 'usable', key: usable };
  const first = keys[0];
  return first ? judge(first, now) : { kind: 'none' };
}

function judge(key: VirtualKey, now: Date): KeySelection {
  if (!key.is_active) return { kind: 'inactive', key };
  const expiredAt = isExpired(key, now);
  if (expiredAt) return { kind: 'expired', key, expiredAt };
  return { kind: 'usable', key };
}

/** The name a person knows the key by (never its secret). */
export function keyLabel(key: VirtualKey): string {
  return key.name.trim() !== '' ? key.name : key.id;
}
