import path from 'node:path';
import { ConfigError } from './load-config.js';
import { WINDOWS_POLICY_CONFIG_VALUE, WINDOWS_POLICY_KEY, windowsSystemRoots } from './managed-config-locations.js';
import { parseManagedJson, REFUSAL_NOTE, type ManagedSource } from './managed-source.js';
import { findRegistryValue, listsSubkey } from './reg-query-output.js';
import type { CommandResult, SyncCommandRunner } from './system-command.js';

/**
 * Windows: install.ps1 (or an Intune/GPO registry setting) stores the configuration JSON as the REG_SZ
 * value Config under HKLM\SOFTWARE\Policies\Bifrost\Edge, which only administrators can write. Read with
 * reg.exe, which every Windows has, instead of a native registry module.
 */
export const POLICY_SOURCE = `registry value ${WINDOWS_POLICY_KEY}\\${WINDOWS_POLICY_CONFIG_VALUE}`;

const FIX = `Fix the ${WINDOWS_POLICY_CONFIG_VALUE} value (REG_SZ, the configuration as JSON) under ${WINDOWS_POLICY_KEY}: run install.ps1 from \`bifrost-edge installers windows\` again, or correct the Intune/GPO setting that writes it.`;

/** reg.exe's own messages in English Windows; other languages are handled by listing keys (below). */
const NOT_FOUND = /unable to find the specified registry key or value/i;
const ACCESS_DENIED = /access is denied/i;

const FULL_HIVE = 'HKEY_LOCAL_MACHINE';

export interface WindowsPolicyDeps {
  run: SyncCommandRunner;
  env: NodeJS.ProcessEnv;
  /** process.arch; with the env it tells a 32-bit process on 64-bit Windows apart. */
  arch?: string;
  /** Which reg.exe exist (default: none known, so only %SystemRoot%'s is asked). */
  exists?: (file: string) => boolean;
}

/**
 * The policy value, or undefined when the machine has none.
 *
 * %SystemRoot% is the user's to set, and a reg.exe of theirs that says "not found" would drop IT's
 * policy: so the standard C:\Windows reg.exe is asked too, and a value either one finds applies. Two
 * different values stop Edge (one of them is not the real registry).
 */
export function readWindowsPolicyConfig(deps: WindowsPolicyDeps): ManagedSource | undefined {
  const roots = windowsSystemRoots(deps.env);
  const present = roots.filter((root) => deps.exists?.(regExePath(root)) ?? false);
  const asked = present.length > 0 ? present : [roots.at(-1)!];
  const found = asked.map((root) => ({ root, managed: readWith(regQuery(deps, root)) })).filter((r) => r.managed !== undefined);
  const first = found[0];
  const other = found.find((r) => JSON.stringify(r.managed!.values) !== JSON.stringify(first?.managed!.values));
  if (first && other) {
    throw new ConfigError(
      `${POLICY_SOURCE} reads differently through ${regExePath(first.root)} and ${regExePath(other.root)} (%SystemRoot% is "${deps.env.SystemRoot ?? deps.env.SYSTEMROOT ?? ''}"): one of them is not Windows' own reg.exe. Remove the SystemRoot variable from your environment. ${REFUSAL_NOTE}`,
    );
  }
  return first?.managed;
}

function readWith(reg: (args: string[]) => CommandResult): ManagedSource | undefined {
  const result = reg([WINDOWS_POLICY_KEY, '/v', WINDOWS_POLICY_CONFIG_VALUE]);
  if (result.exitCode === 0) return fromListing(result, true);
  const said = describeOutput(result);
  if (result.exitCode === 127) throw new ConfigError(`cannot read ${POLICY_SOURCE}: ${said}. Edge needs reg.exe (in %SystemRoot%\\System32) to read its policy. ${REFUSAL_NOTE}`);
  if (ACCESS_DENIED.test(said)) {
    throw new ConfigError(
      `cannot read ${POLICY_SOURCE}: access is denied (${said}). HKLM\\SOFTWARE\\Policies is readable by every user unless its permissions were changed: give Users read access to ${WINDOWS_POLICY_KEY}. ${REFUSAL_NOTE}`,
    );
  }
  if (NOT_FOUND.test(said)) return undefined;
  return afterUnrecognizedFailure(reg, said);
}

/**
 * reg.exe's messages are translated, so on a non-English Windows "no such key" cannot be told from a
 * real failure by its text. Listings are not translated: walk down from HKLM\SOFTWARE\Policies (which
 * exists on every Windows and everyone may read) to see whether the key and value exist. Anything that
 * still cannot be explained is an error, never "not configured".
 */
function afterUnrecognizedFailure(reg: (args: string[]) => CommandResult, firstFailure: string): ManagedSource | undefined {
  const unexplained = (detail: string) =>
    new ConfigError(`cannot read ${POLICY_SOURCE}: reg.exe failed (${firstFailure}${detail ? `; ${detail}` : ''}). ${FIX} ${REFUSAL_NOTE}`);
  const segments = WINDOWS_POLICY_KEY.split('\\');
  const policiesDepth = segments.findIndex((segment) => segment.toLowerCase() === 'policies') + 1;
  for (let depth = policiesDepth; depth < segments.length; depth += 1) {
    const parent = segments.slice(0, depth).join('\\');
    const listing = reg([parent]);
    if (listing.exitCode !== 0) throw unexplained(`listing ${parent}: ${describeOutput(listing)}`);
    const child = [FULL_HIVE, ...segments.slice(1, depth + 1)].join('\\');
    if (!listsSubkey(listing.stdout, child)) return undefined;
  }
  const listing = reg([WINDOWS_POLICY_KEY]);
  if (listing.exitCode !== 0) throw unexplained(`listing ${WINDOWS_POLICY_KEY}: ${describeOutput(listing)}`);
  return fromListing(listing, false);
}

function fromListing(result: CommandResult, mustList: boolean): ManagedSource | undefined {
  const value = findRegistryValue(result.stdout, WINDOWS_POLICY_CONFIG_VALUE);
  if (!value) {
    if (!mustList) return undefined;
    throw new ConfigError(`cannot read ${POLICY_SOURCE}: reg.exe succeeded but printed no ${WINDOWS_POLICY_CONFIG_VALUE} value (${describeOutput(result)}). ${REFUSAL_NOTE}`);
  }
  // REG_EXPAND_SZ is accepted as written but never expanded: a %VARIABLE% would let whoever sets
  // that variable change the managed configuration.
  if (value.type !== 'REG_SZ' && value.type !== 'REG_EXPAND_SZ') {
    throw new ConfigError(`${POLICY_SOURCE} is a ${value.type}; it must be a REG_SZ holding the configuration as JSON. ${FIX} ${REFUSAL_NOTE}`);
  }
  if (value.data.trim() === '') throw new ConfigError(`${POLICY_SOURCE} is empty; it must hold the configuration as JSON. ${FIX} ${REFUSAL_NOTE}`);
  if (value.data.includes('\uFFFD')) {
    throw new ConfigError(
      `${POLICY_SOURCE} came back from reg.exe with characters it could not print in this console's code page. ` +
        `Write non-ASCII characters in the JSON as \\u escapes (e.g. \\u00e9 for é). ${FIX} ${REFUSAL_NOTE}`,
    );
  }
  return parseManagedJson(value.data, POLICY_SOURCE, FIX);
}

/**
 * `reg.exe query <args>` with the 64-bit registry view: HKLM\SOFTWARE writes made by a 64-bit installer
 * would otherwise be invisible to a 32-bit process, which WOW64 redirects to WOW6432Node.
 */
function regQuery(deps: WindowsPolicyDeps, systemRoot: string): (args: string[]) => CommandResult {
  // An absolute path: a reg.exe planted earlier on PATH must not get to answer for the policy.
  const regExe = regExePath(systemRoot);
  const on64BitWindows = deps.env.PROCESSOR_ARCHITEW6432 !== undefined || (deps.arch ?? process.arch) !== 'ia32';
  return (args) => deps.run([regExe, 'query', ...args, ...(on64BitWindows ? ['/reg:64'] : [])]);
}

function regExePath(systemRoot: string): string {
  return path.win32.join(systemRoot, 'System32', 'reg.exe');
}

function describeOutput(result: CommandResult): string {
  return `${result.stderr}\n${result.stdout}`.trim().replace(/\s*\r?\n\s*/g, ' ') || `exit code ${result.exitCode}`;
}
