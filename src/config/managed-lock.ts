/**
 * How IT's managed settings combine with what the employee controls (a --config file, BIFROST_EDGE_*
 * variables, flags) on a managed machine:
 * - every field the managed source sets is locked;
 * - the governance fields below are locked too when IT left them out: they keep their default (or the
 *   value the managed gateway implies), because any of them alone could switch governance off;
 * - everything else (the virtual key when IT set a gateway, port, data dir, log level, …) stays open.
 * What a lower layer says about a locked field is dropped and reported, never applied.
 */

/** Settings read from a place only administrators can write (OS policy store, machine-wide file). */
export interface ManagedSettings {
  values: Record<string, unknown>;
  /** Named in errors and logs, e.g. "managed preferences com.bifrost.edge (/Library/…/com.bifrost.edge.plist)". */
  source: string;
}

/** A setting from a lower layer that was dropped because the managed source decides that field. */
export interface IgnoredSetting {
  field: string;
  /** Where the dropped value came from, e.g. "environment variable BIFROST_EDGE_MODE". */
  from: string;
  managedBy: string;
  /** Set when the managed source does not set the field itself: why it is locked anyway. */
  reason?: string;
}

const GOVERNANCE_REASON = 'it decides whether AI traffic is governed, so on a managed machine only the managed configuration sets it';

/**
 * Fields that decide whether and how AI traffic is governed. Without these locks an employee could keep
 * IT's gateway and set BIFROST_EDGE_MODE=local, or add `"interceptHosts": []` or
 * `"guardrails": {"enabled": false}` to a --config file that IT never thought to mention.
 */
const GOVERNANCE_FIELDS: ReadonlyArray<{ path: readonly string[]; applies?: (managed: Record<string, unknown>) => boolean; implied?: (managed: Record<string, unknown>) => unknown }> = [
  { path: ['mode'], implied: (managed) => (managed.gateway !== undefined ? 'gateway' : 'local') },
  // Without a managed gateway Edge runs locally: a gateway of the employee's own (virtual key included) would reroute everything.
  { path: ['gateway'], applies: (managed) => managed.gateway === undefined },
  { path: ['gateway', 'url'] },
  { path: ['guardrails'] },
  { path: ['interceptHosts'] },
  { path: ['policyFile'] },
  { path: ['control'] },
  { path: ['auth'] },
  { path: ['upstream', 'originOverrides'] },
];

/**
 * Lays `managed` over `raw` (file + env + flags, already merged) in place. `sources` maps dotted field
 * names to where their value came from; dropped fields leave it and managed fields are attributed to
 * the managed source, so validation errors name it. Returns what was dropped, for the log.
 */
export function applyManagedSettings(raw: Record<string, unknown>, sources: Map<string, string>, managed: ManagedSettings): IgnoredSetting[] {
  const ignored: IgnoredSetting[] = [];
  for (const path of leafPaths(raw)) {
    const field = path.join('.');
    const decided = managedValueAt(managed.values, path);
    const governance = decided.decides ? undefined : governanceRule(path, managed.values);
    if (!decided.decides && !governance) continue;
    const lockedValue = decided.decides ? decided.value : governance?.implied?.(managed.values);
    const unchanged = lockedValue !== undefined && JSON.stringify(lockedValue) === JSON.stringify(valueAt(raw, path));
    if (!unchanged) {
      const from = sources.get(field) ?? nearestSource(field, sources) ?? 'configuration';
      ignored.push({ field, from, managedBy: managed.source, ...(governance ? { reason: GOVERNANCE_REASON } : {}) });
    }
    deleteAt(raw, path);
    sources.delete(field);
  }

  mergeInto(raw, structuredClone(managed.values));
  for (const key of dottedKeys(managed.values)) sources.set(key, managed.source);
  return ignored;
}

function governanceRule(path: readonly string[], managed: Record<string, unknown>) {
  return GOVERNANCE_FIELDS.find((rule) => rule.path.every((key, index) => path[index] === key) && (rule.applies?.(managed) ?? true));
}

/**
 * Whether the managed values decide `path`: they set it, or they set a non-object value above it
 * (an array or scalar replaces the whole subtree).
 */
function managedValueAt(managed: Record<string, unknown>, path: readonly string[]): { decides: boolean; value?: unknown } {
  let node: unknown = managed;
  for (const key of path) {
    if (!isPlainObject(node)) return { decides: true };
    if (!Object.hasOwn(node, key)) return { decides: false };
    node = node[key];
  }
  return { decides: true, value: node };
}

function leafPaths(obj: Record<string, unknown>, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const path = [...prefix, key];
    if (isPlainObject(value)) paths.push(...leafPaths(value, path));
    else paths.push(path);
  }
  return paths;
}

/** Every key of a nested object in dotted form (`gateway`, `gateway.url`, …), parents included. */
export function dottedKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    keys.push(dotted);
    if (isPlainObject(value)) keys.push(...dottedKeys(value, dotted));
  }
  return keys;
}

function valueAt(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = obj;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Deletes the field and any object it leaves empty, so a dropped gateway.url does not leave a `gateway: {}` behind. */
function deleteAt(obj: Record<string, unknown>, path: readonly string[]): void {
  for (let depth = path.length; depth > 0; depth -= 1) {
    const parent = valueAt(obj, path.slice(0, depth - 1));
    const key = path[depth - 1]!;
    if (!isPlainObject(parent)) return;
    const child = parent[key];
    if (depth < path.length && !(isPlainObject(child) && Object.keys(child).length === 0)) return;
    delete parent[key];
  }
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value);
    else target[key] = value;
  }
}

function nearestSource(field: string, sources: Map<string, string>): string | undefined {
  for (const [key, source] of sources) if (field.startsWith(`${key}.`)) return source;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
