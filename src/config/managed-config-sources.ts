import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ConfigError, loadConfig, type IgnoredSetting } from './load-config.js';
import { readMacManagedPreferences } from './macos-managed-preferences.js';
import { readMachineConfigFile } from './machine-config-file.js';
import { CONFIG_ENV, machineConfigPaths, MACOS_MANAGED_PREFERENCES_PLIST, TEST_MACHINE_CONFIG_ENV } from './managed-config-locations.js';
import { REFUSAL_NOTE, type ManagedSource } from './managed-source.js';
import { folderOf, relativePathSettings, resolvePathSettings } from './path-settings.js';
import type { AgentConfig, AgentConfigInput } from './schema.js';
import { runSystemCommand, type SyncCommandRunner } from './system-command.js';
import { POLICY_SOURCE, readWindowsPolicyConfig } from './windows-policy-registry.js';

/**
 * Resolves Edge's configuration on this machine, for `bifrost-edge run` (and every other command) and
 * the desktop app alike.
 *
 * The managed configuration is the first of these that exists (only administrators can write them):
 *   1. the OS policy source: macOS managed preferences com.bifrost.edge (a configuration profile),
 *      Windows registry value HKLM\SOFTWARE\Policies\Bifrost\Edge\Config;
 *   2. the machine-wide JSON file (machineConfigPaths);
 *   3. none: defaults, i.e. local mode.
 * An explicit file (--config, else BIFROST_EDGE_CONFIG) is read too, under BIFROST_EDGE_* variables and
 * flags. On a managed machine those three may only fill in fields IT left open: the fields the managed
 * source sets, and the few that decide whether traffic is governed at all, are locked (managed-lock.ts);
 * what the lower layers say about them is dropped and logged. A managed source that exists but cannot be
 * read or is invalid stops Edge with an error naming it, the field and the fix: falling back to defaults
 * would silently drop the company's policy.
 */

export interface ManagedConfigDeps {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Runs plutil (macOS) and reg.exe (Windows). */
  run?: SyncCommandRunner;
  exists?: (file: string) => boolean;
  readFile?: (file: string) => string;
  /** process.arch, for the Windows registry view. */
  arch?: string;
}

export interface FoundManagedSource {
  managed: ManagedSource | undefined;
  /** The places looked at, for the log when there is none. */
  checked: string[];
}

/** The managed source for this machine, in the precedence above; throws ConfigError when it is broken. */
export function findManagedSource(deps: ManagedConfigDeps = {}): FoundManagedSource {
  const platform = deps.platform ?? process.platform;
  const env = deps.env ?? process.env;
  const run = deps.run ?? runSystemCommand;
  const exists = deps.exists ?? fs.existsSync;
  const readFile = deps.readFile ?? ((file: string) => fs.readFileSync(file, 'utf8'));
  const checked: string[] = [];

  if (platform === 'darwin') {
    const managed = readMacManagedPreferences({ run, exists });
    if (managed) return { managed, checked };
    checked.push(MACOS_MANAGED_PREFERENCES_PLIST);
  } else if (platform === 'win32') {
    const managed = readWindowsPolicyConfig({ run, env, exists, ...(deps.arch ? { arch: deps.arch } : {}) });
    if (managed) return { managed, checked };
    checked.push(POLICY_SOURCE);
  }

  const machineFiles = machineConfigPaths(platform, env);
  const found = machineFiles.flatMap((file) => readMachineConfigFile(file, `machine-wide managed configuration ${file}`, readFile) ?? []);
  const machine = found[0];
  const differing = found.find((other) => JSON.stringify(other.values) !== JSON.stringify(machine?.values));
  if (machine && differing) {
    throw new ConfigError(`${machine.source} and ${differing.source} both exist and differ (%ProgramData% is "${env.ProgramData ?? env.PROGRAMDATA ?? ''}"): Edge cannot tell which is IT's. Remove the ProgramData variable from your environment, or the file IT did not place. ${REFUSAL_NOTE}`);
  }
  if (machine) return { managed: machine, checked };
  checked.push(...machineFiles);

  const testFile = env[TEST_MACHINE_CONFIG_ENV];
  if (testFile) {
    const source = `machine-wide managed configuration ${testFile} (test hook ${TEST_MACHINE_CONFIG_ENV})`;
    const managed = readMachineConfigFile(testFile, source, readFile);
    if (!managed) throw new ConfigError(`${TEST_MACHINE_CONFIG_ENV} names ${testFile}, which does not exist. Point it at a JSON file or unset it.`);
    return { managed, checked };
  }
  return { managed: undefined, checked };
}

export interface LoadEffectiveConfigOptions extends ManagedConfigDeps {
  /** The --config flag; without it BIFROST_EDGE_CONFIG is the explicit file. */
  configFile?: string;
  /** CLI flags. */
  overrides?: AgentConfigInput;
}

export interface LoadedConfig {
  config: AgentConfig;
  /** Where the settings came from, for the log line and errors. */
  origin: string;
  /** Settings dropped because the managed source decides them. */
  ignored: IgnoredSetting[];
}

export function loadEffectiveConfig(options: LoadEffectiveConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const explicit = explicitFile(options.configFile, env);
  const { managed, checked } = findManagedSource(options);
  // The Linux systemd unit passes the machine-wide file itself with --config: it is the managed source, not a second layer.
  const explicitIsManaged = explicit !== undefined && managed?.file !== undefined && sameFile(explicit.file, managed.file, platform);
  const userFile = explicit && !explicitIsManaged ? explicit : undefined;
  const origin = describeOrigin(managed, userFile, checked);

  const ignored: IgnoredSetting[] = [];
  try {
    const config = loadConfig({
      env,
      ...(userFile ? { file: userFile.file } : {}),
      ...(options.overrides ? { overrides: options.overrides } : {}),
      ...(managed ? { managed: { values: managedValues(managed, platform), source: managed.source }, onIgnored: (setting: IgnoredSetting) => ignored.push(setting) } : {}),
    });
    return { config, origin, ignored };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const fix = managed && err.message.includes(managed.source) ? `\n${managed.fix} ${REFUSAL_NOTE}` : '';
    throw new ConfigError(`${err.message}${fix}\n(configuration: ${origin})`);
  }
}

/** One line saying where the configuration came from, and one warning per dropped setting. */
export function logConfigOrigin(log: Logger, loaded: LoadedConfig): void {
  log.info('configuration loaded', { from: loaded.origin });
  for (const setting of loaded.ignored) {
    log.warn(`ignoring ${setting.field} from ${setting.from}: your organization manages it`, {
      managedBy: setting.managedBy,
      ...(setting.reason ? { reason: setting.reason } : {}),
    });
  }
}

/**
 * The managed values with their relative paths resolved: a managed file's against its own folder, like
 * any config file. Managed preferences and the registry have no folder, so a relative path there is
 * refused rather than read from wherever Edge happens to start (the caller adds the fix, as for any
 * error about the managed source).
 */
function managedValues(managed: ManagedSource, platform: NodeJS.Platform): Record<string, unknown> {
  if (managed.file !== undefined) return resolvePathSettings(managed.values, folderOf(managed.file));
  const relative = relativePathSettings(managed.values, platform === 'win32' ? path.win32.isAbsolute : path.posix.isAbsolute);
  if (relative.length > 0) {
    const fields = relative.map(({ field, value }) => `${field} ${JSON.stringify(value)}`).join(', ');
    throw new ConfigError(`${managed.source} sets ${fields}: a relative path, which would count from whatever folder Edge starts in. Set the absolute path the file has on this machine.`);
  }
  return managed.values;
}

function explicitFile(flag: string | undefined, env: NodeJS.ProcessEnv): { file: string; how: string } | undefined {
  if (flag) return { file: flag, how: '--config' };
  const fromEnv = env[CONFIG_ENV];
  return fromEnv ? { file: fromEnv, how: `environment variable ${CONFIG_ENV}` } : undefined;
}

function sameFile(a: string, b: string, platform: NodeJS.Platform): boolean {
  if (platform === 'win32') return path.win32.resolve(a).toLowerCase() === path.win32.resolve(b).toLowerCase();
  return path.posix.resolve(a) === path.posix.resolve(b);
}

function describeOrigin(managed: ManagedSource | undefined, userFile: { file: string; how: string } | undefined, checked: string[]): string {
  const user = userFile ? `config file ${userFile.file} (${userFile.how})` : undefined;
  if (managed && user) return `${managed.source}, over ${user}`;
  if (managed) return managed.source;
  if (user) return user;
  return `no managed configuration (${checked.join(', ')} not found): defaults and BIFROST_EDGE_* variables`;
}
