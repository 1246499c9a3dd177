import fs from 'node:fs';
import path from 'node:path';

/**
 * Where the desktop app finds its managed configuration (the same JSON the CLI takes with --config):
 *
 * 1. `BIFROST_EDGE_CONFIG` names the file explicitly (it must exist);
 * 2. otherwise the machine-wide location for the OS, where IT's installer or MDM puts it and an employee
 *    without admin rights cannot change it:
 *    - macOS:   /Library/Application Support/Bifrost Edge/config.json
 *    - Windows: %ProgramData%\Bifrost Edge\config.json  (normally C:\ProgramData\Bifrost Edge\config.json)
 *    - Linux:   /etc/bifrost-edge/config.json
 * 3. when neither exists, no file: defaults plus BIFROST_EDGE_* variables, i.e. local mode.
 */
export const CONFIG_ENV = 'BIFROST_EDGE_CONFIG';

export function machineConfigPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'darwin') return '/Library/Application Support/Bifrost Edge/config.json';
  if (platform === 'win32') return path.win32.join(env.ProgramData || env.PROGRAMDATA || 'C:\\ProgramData', 'Bifrost Edge', 'config.json');
  return '/etc/bifrost-edge/config.json';
}

export interface ManagedConfigLocation {
  /** The file to load, or undefined for defaults only. */
  file: string | undefined;
  /** Where the choice came from, for the log and error messages. */
  source: string;
}

export function locateManagedConfig(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  exists: (file: string) => boolean = fs.existsSync,
): ManagedConfigLocation {
  const explicit = env[CONFIG_ENV];
  // An explicit path that does not exist is passed on: loadConfig then says which file is missing.
  if (explicit) return { file: explicit, source: `environment variable ${CONFIG_ENV}` };
  const machine = machineConfigPath(platform, env);
  if (exists(machine)) return { file: machine, source: 'the machine-wide managed configuration' };
  return { file: undefined, source: `no managed configuration (${machine} does not exist): defaults and BIFROST_EDGE_* variables` };
}
