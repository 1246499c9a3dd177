import { createHash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import type { PolicyTemplate } from '../protocol/admin.js';
import { withoutUnannouncedFields, type GatedBundleField } from '../protocol/bundle-fields.js';
import type { SigningPublicKey } from '../protocol/enrollment.js';
import { PolicyBundleSchema, type PolicyBundle } from '../protocol/policy-bundle.js';
import type { VirtualKey } from '../protocol/virtual-key.js';
import type { Subject } from './control-store.js';

/**
 * Pure decisions about what a device's bundle contains. No I/O: the publisher feeds in the template,
 * the gateway's keys and the device, and stores/signs what comes out.
 */

/**
 * Fields of Bifrost's virtual-key objects that change with traffic or bookkeeping, not with policy.
 * Leaving them in bundles would republish every device on every poll while people use their keys;
 * provider `keys` are the gateway's upstream credentials, which devices have no business seeing.
 */
const VOLATILE_FIELDS = new Set([
  'current_usage', 'last_reset',
  'token_current_usage', 'token_last_reset', 'request_current_usage', 'request_last_reset',
  'created_at', 'updated_at', 'config_hash', 'keys',
]);

/** A virtual key as it goes into bundles: policy fields only (see VOLATILE_FIELDS). */
export function policyRelevantVirtualKey(vk: VirtualKey): VirtualKey {
  return stripFields(vk, VOLATILE_FIELDS) as VirtualKey;
}

function stripFields(value: unknown, fields: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => stripFields(v, fields));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!fields.has(k)) out[k] = stripFields(v, fields);
    }
    return out;
  }
  return value;
}

/** Fingerprint of the gateway's keys as far as policy goes: changes ⇔ devices may need a new bundle. */
export function virtualKeysFingerprint(keys: readonly VirtualKey[]): string {
  const projected = keys.map(policyRelevantVirtualKey).sort((a, b) => a.id.localeCompare(b.id));
  return createHash('sha256').update(canonicalJson(projected)).digest('hex');
}

export interface Assignments {
  users: Record<string, string[]>;
  groups: Record<string, string[]>;
  default: string[];
}

export interface AssignedKeys {
  keys: VirtualKey[];
  /** Key ids the assignment names that the gateway does not have (a typo, or a deleted key). */
  missing: string[];
}

/**
 * The keys a person gets: every `users` entry matching their sub or email, plus every `groups`
 * entry for their groups; `default` only when nothing matched. Order follows the config (user
 * entries first) so that the first active key, which the device sends, is predictable.
 */
export function assignVirtualKeys(subject: Subject, assignments: Assignments, gatewayKeys: readonly VirtualKey[]): AssignedKeys {
  const ids: string[] = [];
  const add = (list: readonly string[] | undefined): void => {
    for (const id of list ?? []) if (!ids.includes(id)) ids.push(id);
  };
  add(entryFor(assignments.users, subject.sub));
  if (subject.email !== undefined) {
    add(entryFor(assignments.users, subject.email));
    add(entryFor(assignments.users, subject.email.toLowerCase()));
  }
  for (const group of subject.groups) add(entryFor(assignments.groups, group));
  if (ids.length === 0) add(assignments.default);
  return resolveKeyIds(ids, gatewayKeys);
}

/**
 * The config's entry for a name the identity provider chose. Only the record's own entries count: a
 * group or sub called `constructor` or `__proto__` must not reach Object.prototype.
 */
function entryFor(record: Readonly<Record<string, string[]>>, name: string): readonly string[] | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export function resolveKeyIds(ids: readonly string[], gatewayKeys: readonly VirtualKey[]): AssignedKeys {
  const byId = new Map(gatewayKeys.map((k) => [k.id, k]));
  const keys: VirtualKey[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const key = byId.get(id);
    if (key) keys.push(key);
    else missing.push(id);
  }
  return { keys, missing };
}

export interface BundleInputs {
  template: PolicyTemplate;
  subject: Subject;
  /** The device the bundle is for, when it checks `bundle.device_id`. */
  deviceId?: string;
  keys: readonly VirtualKey[];
  version: number;
  issuedAt: string;
  /** Used when the template names no gateway. */
  gatewayUrl: string;
  /** The keys devices should trust from this bundle on (the key ring's trusted set). */
  signingKeys?: readonly SigningPublicKey[];
  /**
   * The optional fields the device announced it understands (BUNDLE_FIELDS_HEADER): the template's other gated
   * fields (bundle-fields.ts) are left out, or the device would refuse the bundle. Absent: every field goes in.
   */
  fields?: readonly GatedBundleField[];
}

/** Assembles and validates a device's bundle; the result is what gets signed and served. */
export function buildPolicyBundle(inputs: BundleInputs): PolicyBundle {
  const keys = inputs.keys.map(policyRelevantVirtualKey);
  const active = keys.find((k) => k.is_active !== false && !isExpired(k, inputs.issuedAt));
  const template = inputs.fields ? withoutUnannouncedFields(inputs.template, inputs.fields) : inputs.template;
  return PolicyBundleSchema.parse({
    ...template,
    schema: 'bifrost-edge.policy/v1',
    version: inputs.version,
    issued_at: inputs.issuedAt,
    subject: dropUndefined({ ...inputs.subject }),
    device_id: inputs.deviceId,
    virtual_keys: keys,
    active_virtual_key_id: active?.id,
    gateway: inputs.template.gateway ?? { url: inputs.gatewayUrl },
    signing_keys: inputs.signingKeys,
  });
}

/** Hash of what a bundle says, ignoring version and issue time: equal ⇒ no need to publish again. */
export function bundleContentHash(bundle: PolicyBundle): string {
  const { version: _version, issued_at: _issuedAt, ...content } = bundle;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function isExpired(vk: VirtualKey, at: string): boolean {
  return typeof vk.expires_at === 'string' && Date.parse(vk.expires_at) <= Date.parse(at);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
