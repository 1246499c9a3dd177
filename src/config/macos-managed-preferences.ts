import { ConfigError } from './load-config.js';
import { MACOS_MANAGED_PREFERENCES_PLIST, MANAGED_PREFERENCES_DOMAIN } from './managed-config-locations.js';
import { parseManagedJson, REFUSAL_NOTE, type ManagedSource } from './managed-source.js';
import { firstNonJsonValue } from './plist-non-json-value.js';
import type { SyncCommandRunner } from './system-command.js';

/**
 * macOS: the configuration profile's com.apple.ManagedClient.preferences payload forces the domain
 * com.bifrost.edge, which macOS writes to /Library/Managed Preferences/com.bifrost.edge.plist (binary,
 * root-owned; its keys are the config's fields). Read with the system's plutil rather than a plist
 * parser of our own: the file is Apple's format, and plutil is always there.
 */
export const PLUTIL = '/usr/bin/plutil';

export interface MacManagedPreferencesDeps {
  run: SyncCommandRunner;
  exists: (file: string) => boolean;
  /** Defaults to the real location. */
  file?: string;
}

export function managedPreferencesSource(file: string = MACOS_MANAGED_PREFERENCES_PLIST): string {
  return `managed preferences ${MANAGED_PREFERENCES_DOMAIN} (${file})`;
}

const FIX = `Fix the Bifrost Edge configuration profile in your MDM (payload com.apple.ManagedClient.preferences, domain ${MANAGED_PREFERENCES_DOMAIN}; \`bifrost-edge installers mobileconfig\` writes one) and push it again.`;

/** The managed preferences, or undefined when the Mac has no profile for Edge. */
export function readMacManagedPreferences(deps: MacManagedPreferencesDeps): ManagedSource | undefined {
  const file = deps.file ?? MACOS_MANAGED_PREFERENCES_PLIST;
  if (!deps.exists(file)) return undefined;
  const source = managedPreferencesSource(file);
  const json = deps.run([PLUTIL, '-convert', 'json', '-o', '-', '--', file]);
  if (json.exitCode === 0) return parseManagedJson(json.stdout, source, FIX);
  throw new ConfigError(`${explainPlutilFailure(deps.run, file, source, json.stderr || json.stdout)} ${FIX} ${REFUSAL_NOTE}`);
}

/** Turns plutil's one-line failure into the field and value type the admin has to change. */
function explainPlutilFailure(run: SyncCommandRunner, file: string, source: string, output: string): string {
  const said = output.trim() || 'no message';
  const xml = run([PLUTIL, '-convert', 'xml1', '-o', '-', '--', file]);
  if (xml.exitCode !== 0) return `cannot read ${source} with ${PLUTIL} (${said}).`;
  const culprit = firstNonJsonValue(xml.stdout);
  if (!culprit) return `cannot convert ${source} to JSON with ${PLUTIL} (${said}).`;
  return (
    `cannot read ${source}: ${culprit.path} is a <${culprit.type}> value, which Edge's configuration cannot hold ` +
    `(plutil: ${said}). Every setting is a string, number, boolean, array or dictionary: give ${culprit.path} one of those types in the profile.`
  );
}
