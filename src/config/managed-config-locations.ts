import path from 'node:path';
import {
  LINUX_SYSTEM_CONFIG_FILE, MACOS_MANAGED_PREFERENCES_PLIST, MANAGED_PREFERENCES_DOMAIN, WINDOWS_POLICY_CONFIG_VALUE, WINDOWS_POLICY_KEY,
} from '../installers/managed-config.js';

/**
 * Where the agent looks for IT's managed configuration. The places themselves are defined once, next to
 * the installer generators that write them (src/installers/managed-config.ts); this module adds the
 * agent-side names and the machine-wide JSON file of each OS.
 */
export { MACOS_MANAGED_PREFERENCES_PLIST, MANAGED_PREFERENCES_DOMAIN, WINDOWS_POLICY_CONFIG_VALUE, WINDOWS_POLICY_KEY };

/** Names an explicit configuration file, like --config (the desktop app has no flags). */
export const CONFIG_ENV = 'BIFROST_EDGE_CONFIG';

/**
 * Test hook: a JSON file to treat as the machine-wide managed file. Honoured only on a machine with no
 * managed configuration of its own (no OS policy, no machine-wide file), so it can add locked settings
 * for the user who sets it but never replace or loosen IT's.
 */
export const TEST_MACHINE_CONFIG_ENV = 'BIFROST_EDGE_TEST_MACHINE_CONFIG';

/**
 * The machine-wide JSON file an installer or MDM script places where only administrators can write:
 * - macOS:   /Library/Application Support/Bifrost Edge/config.json
 * - Windows: %ProgramData%\Bifrost Edge\config.json  (normally C:\ProgramData\Bifrost Edge\config.json)
 * - Linux:   /etc/bifrost-edge/config.json (what the systemd unit passes with --config)
 */
export function machineConfigPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'darwin') return '/Library/Application Support/Bifrost Edge/config.json';
  if (platform === 'win32') return path.win32.join(env.ProgramData || env.PROGRAMDATA || 'C:\\ProgramData', 'Bifrost Edge', 'config.json');
  return LINUX_SYSTEM_CONFIG_FILE;
}
