import path from 'node:path';

/**
 * Settings that name a file or folder on this machine. Edge runs from wherever it was started (a systemd
 * user unit from $HOME, a LaunchAgent from /, a terminal from anywhere), so a relative path in a config
 * file counts from that file's folder, as `control serve` reads its own configuration: the same file then
 * works whichever directory Edge starts in. Paths from flags and environment variables count from the
 * current directory, as for any command.
 */
export const PATH_SETTINGS: ReadonlyArray<readonly string[]> = [
  ['dataDir'],
  ['policyFile'],
  ['gateway', 'caFile'],
  ['upstream', 'caFile'],
];

export interface RelativePathSetting {
  /** Dotted name, e.g. gateway.caFile. */
  field: string;
  value: string;
}

/** The path settings in `values` that are relative (`isAbsolute` decides; the platform's by default). */
export function relativePathSettings(values: Record<string, unknown>, isAbsolute: (value: string) => boolean = path.isAbsolute): RelativePathSetting[] {
  const relative: RelativePathSetting[] = [];
  for (const keys of PATH_SETTINGS) {
    const value = valueAt(values, keys);
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) relative.push({ field: keys.join('.'), value });
  }
  return relative;
}

/**
 * A copy of `values` (a config file's contents) with its relative path settings resolved against
 * `baseDir`, the folder of the file they were written in. Values of the wrong type are left for the
 * schema to name.
 */
export function resolvePathSettings(values: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const resolved = structuredClone(values);
  for (const { field } of relativePathSettings(values)) {
    const keys = field.split('.');
    const parent = valueAt(resolved, keys.slice(0, -1)) as Record<string, unknown>;
    const key = keys[keys.length - 1]!;
    parent[key] = path.resolve(baseDir, parent[key] as string);
  }
  return resolved;
}

/** The folder relative paths in `file` count from. */
export function folderOf(file: string): string {
  return path.dirname(path.resolve(file));
}

function valueAt(values: Record<string, unknown>, keys: readonly string[]): unknown {
  let node: unknown = values;
  for (const key of keys) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
