import { X509Certificate } from 'node:crypto';

// One import path for everything trust related; each job still lives in its own module.
export { caBundleWithPublicRoots, clientEnvironment, type ClientEnvironmentOptions } from './client-environment.js';
export {
  DEFAULT_NSS_NICKNAME,
  installIntoNssDb,
  nssAddCertificateArgs,
  nssCreateDatabaseArgs,
  nssDeleteCertificateArgs,
  nssInstallCommand,
  nssRemoveCommand,
  removeFromNssDb,
  type NssOptions,
} from './nss-database.js';

/** Operating-system trust stores we know how to write to. NSS databases (Firefox, Chromium on Linux) are separate. */
export type TrustStorePlatform = 'macos' | 'windows' | 'debian' | 'rhel';
/** `system`: every user, needs admin. `user`: the signed-in user only (macOS login keychain, Windows CurrentUser). */
export type TrustStoreScope = 'system' | 'user';

export interface TrustStoreCommand {
  /** Program and arguments, for execFile/spawn without a shell (paths with spaces stay intact). */
  argv: string[];
  /** Needs root (sudo) or an elevated Administrator prompt. */
  needsAdmin: boolean;
}

export const MACOS_SYSTEM_KEYCHAIN = '/Library/Keychains/System.keychain';
/** update-ca-certificates only picks up files ending in .crt. */
export const DEBIAN_ANCHOR_PATH = '/usr/local/share/ca-certificates/bifrost-edge.crt';
export const RHEL_ANCHOR_PATH = '/etc/pki/ca-trust/source/anchors/bifrost-edge.pem';

/** The commands that make the OS trust the CA at `ca.certPath`. On macOS only an MDM profile does it silently. */
export function trustStoreInstallCommands(
  platform: TrustStorePlatform,
  ca: { certPath: string },
  scope: TrustStoreScope = 'system',
): TrustStoreCommand[] {
  switch (platform) {
    case 'macos':
      return scope === 'system'
        ? [admin(['security', 'add-trusted-cert', '-d', '-r', 'trustRoot', '-k', MACOS_SYSTEM_KEYCHAIN, ca.certPath])]
        : // Without -d/-k: the user's trust settings and default (login) keychain; macOS asks for the password.
          [user(['security', 'add-trusted-cert', '-r', 'trustRoot', ca.certPath])];
    case 'windows':
      return scope === 'system'
        ? [admin(['certutil', '-addstore', 'Root', ca.certPath])]
        : [user(['certutil', '-user', '-addstore', 'Root', ca.certPath])];
    case 'debian':
      linuxSystemScopeOnly(scope);
      return [admin(['install', '-D', '-m', '0644', ca.certPath, DEBIAN_ANCHOR_PATH]), admin(['update-ca-certificates'])];
    case 'rhel':
      linuxSystemScopeOnly(scope);
      return [admin(['install', '-D', '-m', '0644', ca.certPath, RHEL_ANCHOR_PATH]), admin(['update-ca-trust', 'extract'])];
  }
}

/**
 * The commands that remove the CA again. macOS and Windows find it by SHA-1 thumbprint (computed from
 * `ca.certPem`), so renewing the CA never removes the wrong certificate; pass the old CA (ca.pem.old) to
 * remove it after a renewal.
 */
export function trustStoreRemoveCommands(
  platform: TrustStorePlatform,
  ca: { certPath: string; certPem: string },
  scope: TrustStoreScope = 'system',
): TrustStoreCommand[] {
  const thumbprint = sha1Thumbprint(ca.certPem);
  switch (platform) {
    case 'macos':
      return scope === 'system'
        ? [
            admin(['security', 'remove-trusted-cert', '-d', ca.certPath]),
            admin(['security', 'delete-certificate', '-Z', thumbprint, MACOS_SYSTEM_KEYCHAIN]),
          ]
        : [user(['security', 'remove-trusted-cert', ca.certPath]), user(['security', 'delete-certificate', '-Z', thumbprint])];
    case 'windows':
      return scope === 'system'
        ? [admin(['certutil', '-delstore', 'Root', thumbprint])]
        : [user(['certutil', '-user', '-delstore', 'Root', thumbprint])];
    case 'debian':
      linuxSystemScopeOnly(scope);
      // --fresh rebuilds /etc/ssl/certs so no stale link to the removed file survives.
      return [admin(['rm', '-f', DEBIAN_ANCHOR_PATH]), admin(['update-ca-certificates', '--fresh'])];
    case 'rhel':
      linuxSystemScopeOnly(scope);
      return [admin(['rm', '-f', RHEL_ANCHOR_PATH]), admin(['update-ca-trust', 'extract'])];
  }
}

/**
 * Picks the trust-store family from `process.platform` and, on Linux, the text of /etc/os-release
 * (ID and ID_LIKE). Undefined when unknown: then offer NSS databases and `clientEnvironment` only.
 */
export function detectTrustStorePlatform(nodePlatform: NodeJS.Platform, osRelease = ''): TrustStorePlatform | undefined {
  if (nodePlatform === 'darwin') return 'macos';
  if (nodePlatform === 'win32') return 'windows';
  if (nodePlatform !== 'linux') return undefined;
  const ids = ['ID', 'ID_LIKE']
    .map((key) => new RegExp(`^${key}=["']?([^"'\\n]*)`, 'm').exec(osRelease)?.[1] ?? '')
    .join(' ')
    .toLowerCase()
    .split(/\s+/);
  if (ids.some((id) => ['debian', 'ubuntu'].includes(id))) return 'debian';
  if (ids.some((id) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'amzn'].includes(id))) return 'rhel';
  return undefined;
}

function sha1Thumbprint(certPem: string): string {
  // Both `security -Z` and `certutil -delstore` take the SHA-1 hash as plain hex.
  return new X509Certificate(certPem).fingerprint.replaceAll(':', '');
}

function linuxSystemScopeOnly(scope: TrustStoreScope): void {
  if (scope !== 'system') {
    throw new Error('Linux has no per-user OS trust store: use installIntoNssDb for browsers and clientEnvironment for CLI tools.');
  }
}

function admin(argv: string[]): TrustStoreCommand {
  return { argv, needsAdmin: true };
}

function user(argv: string[]): TrustStoreCommand {
  return { argv, needsAdmin: false };
}
