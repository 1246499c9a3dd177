import { loadEffectiveConfig, type LoadedConfig, type ManagedConfigDeps } from '../config/managed-config-sources.js';

/**
 * The desktop app's configuration: the same resolution as `bifrost-edge run` (src/config/
 * managed-config-sources.ts): macOS managed preferences or the Windows policy registry value, else the
 * machine-wide JSON file, else defaults (local mode); BIFROST_EDGE_CONFIG plays the part of --config,
 * since the app has no flags. Fields IT manages cannot be changed by that file or BIFROST_EDGE_*
 * variables. Throws ConfigError (naming the source, the field and the fix) when the managed source is
 * broken: the app then shows the error instead of running without the company's policy.
 */
export { CONFIG_ENV, machineConfigPath } from '../config/managed-config-locations.js';
export { logConfigOrigin, type LoadedConfig } from '../config/managed-config-sources.js';

export function loadDesktopConfig(deps: ManagedConfigDeps = {}): LoadedConfig {
  return loadEffectiveConfig(deps);
}
