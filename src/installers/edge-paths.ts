import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { caDirectory } from '../agent.js';
import { CA_CERT_FILE } from '../ca/index.js';
import { caBundleWithPublicRoots } from '../ca/client-environment.js';
import { defaultDataDir } from '../config/data-dir.js';

/**
 * Where Edge keeps its files, as the installers' scripts need them: relative to a data dir that only
 * the device knows (it depends on the user). Derived from the agent's own path helpers so a script
 * never looks in a place the agent does not write to.
 */

/** Written next to the CA: public roots plus our CA, for tools whose CA variable replaces their roots. */
export const CA_BUNDLE_FILE = 'ca-bundle.pem';

/** Path segments of the CA certificate inside the data dir (["ca", "ca.pem"]). */
export const CA_CERT_SEGMENTS: readonly string[] = [...caDirectory('').split(/[\\/]/).filter(Boolean), CA_CERT_FILE];

export function caCertPath(dataDir: string): string {
  return path.join(caDirectory(dataDir), CA_CERT_FILE);
}

export function caBundlePath(dataDir: string): string {
  return path.join(dataDir, CA_BUNDLE_FILE);
}

/** The data dir's folder name under XDG_DATA_HOME on Linux ("bifrost-edge"). */
export const LINUX_DATA_DIR_NAME = path.posix.basename(defaultDataDir('linux', { XDG_DATA_HOME: '/xdg' }, '/home/user'));
/** The data dir's folder name under %APPDATA% on Windows ("Bifrost Edge"). */
export const WINDOWS_DATA_DIR_NAME = path.win32.basename(defaultDataDir('win32', { APPDATA: 'C:\\AppData' }, 'C:\\Users\\user'));
/** The data dir relative to a macOS home ("Library/Application Support/Bifrost Edge"). */
export const MACOS_DATA_DIR_IN_HOME = path.posix.relative('/Users/user', defaultDataDir('darwin', {}, '/Users/user'));

/**
 * Writes the CA bundle (public roots + `caPem`) into the data dir and returns its path. Written to a
 * temporary name first: a CLI tool reading it mid-write would otherwise see half a bundle and fail.
 */
export async function writeCaBundle(dataDir: string, caPem: string): Promise<string> {
  const target = caBundlePath(dataDir);
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, caBundleWithPublicRoots(caPem), { mode: 0o644 });
    await chmod(temporary, 0o644);
    await rename(temporary, target);
  } catch (err) {
    // A failed write leaves no half bundle behind (a service restarting in a loop would collect one per try).
    await rm(temporary, { force: true }).catch(() => {});
    throw err;
  }
  return target;
}

/** The data dir relative to a Windows user profile ("AppData\Roaming\Bifrost Edge"), for APPDATA's default. */
export const WINDOWS_DATA_DIR_IN_PROFILE = path.win32.relative('C:\\Users\\user', defaultDataDir('win32', {}, 'C:\\Users\\user'));
