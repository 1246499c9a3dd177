import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * NSS databases that browsers on Linux read their trusted roots from, relative to a home directory.
 * Chromium (and Chrome) share ~/.pki/nssdb; each Firefox profile has its own; snap packages keep theirs
 * under ~/snap. The installer script and `bifrost-edge ca install --user` both use these lists.
 */
export const CHROMIUM_NSS_DATABASES: readonly string[] = ['.pki/nssdb', 'snap/chromium/current/.pki/nssdb'];
export const FIREFOX_PROFILE_ROOTS: readonly string[] = ['.mozilla/firefox', 'snap/firefox/common/.mozilla/firefox'];
/** Shell glob of Firefox profile folders (xxxx.default, xxxx.default-release, xxxx.default-esr). */
export const FIREFOX_PROFILE_GLOB = '*.default*';

export interface NssDatabaseLocation {
  dir: string;
  browser: 'chromium' | 'firefox';
  /** Only ~/.pki/nssdb is created when missing: Chromium reads it on start, so trust is ready on first launch. */
  createIfMissing: boolean;
}

/** The NSS databases to trust the CA in for the user whose home is `home`. */
export async function findNssDatabases(home: string): Promise<NssDatabaseLocation[]> {
  const found: NssDatabaseLocation[] = [];
  for (const [index, relative] of CHROMIUM_NSS_DATABASES.entries()) {
    const dir = path.join(home, relative);
    const createIfMissing = index === 0;
    if (createIfMissing || (await isDirectory(dir))) found.push({ dir, browser: 'chromium', createIfMissing });
  }
  for (const relative of FIREFOX_PROFILE_ROOTS) {
    const root = path.join(home, relative);
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && entry.name.includes('.default')) found.push({ dir: path.join(root, entry.name), browser: 'firefox', createIfMissing: false });
    }
  }
  return found;
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (info) => info.isDirectory(),
    () => false,
  );
}
