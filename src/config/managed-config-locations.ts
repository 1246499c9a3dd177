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

/**
 * Every place the machine-wide file may be, for reading it. On Windows %ProgramData% is the user's to
 * set, so the agent (running as the user) also looks in the standard C:\ProgramData: moving the
 * variable must not make IT's file disappear. (Where both exist and differ, loading stops.)
 */
export function machineConfigPaths(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = machineConfigPath(platform, env);
  if (platform !== 'win32') return [fromEnv];
  return distinctWindowsPaths([path.win32.join('C:\\ProgramData', 'Bifrost Edge', 'config.json'), fromEnv]);
}

/**
 * The Windows folders whose System32\reg.exe may answer for the policy: the standard C:\Windows and
 * the one %SystemRoot% names (Windows installed on another drive), which the user can also set.
 */
export function windowsSystemRoots(env: NodeJS.ProcessEnv): string[] {
  return distinctWindowsPaths(['C:\\Windows', env.SystemRoot || env.SYSTEMROOT || env.windir || 'C:\\Windows']);
}

function distinctWindowsPaths(paths: string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const key = path.win32.resolve(p).toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
