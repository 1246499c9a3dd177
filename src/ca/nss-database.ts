import { execFile } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TrustStoreCommand } from './trust-stores.js';
import { fileExists } from '../util/file-exists.js';

const execFileAsync = promisify(execFile);

/** What NSS stores the certificate under unless told otherwise. */
export const DEFAULT_NSS_NICKNAME = 'Bifrost Edge Local CA';

/** `certutil` arguments that create an empty, password-less NSS database in `dbDir`. */
export function nssCreateDatabaseArgs(dbDir: string): string[] {
  return ['-N', '--empty-password', '-d', `sql:${dbDir}`];
}

/** `certutil` arguments that add the CA as trusted for TLS servers ("C,,") under `nickname`. */
export function nssAddCertificateArgs(dbDir: string, caPemPath: string, nickname: string): string[] {
  return ['-d', `sql:${dbDir}`, '-A', '-t', 'C,,', '-n', nickname, '-i', caPemPath];
}

/** `certutil` arguments that delete one certificate stored under `nickname`. */
export function nssDeleteCertificateArgs(dbDir: string, nickname: string): string[] {
  return ['-d', `sql:${dbDir}`, '-D', '-n', nickname];
}

/** Full argv (program first) to trust the CA in an existing NSS database, e.g. for an installer script. */
export function nssInstallCommand(dbDir: string, caPemPath: string, nickname = DEFAULT_NSS_NICKNAME): TrustStoreCommand {
  return { argv: ['certutil', ...nssAddCertificateArgs(dbDir, caPemPath, nickname)], needsAdmin: false };
}

/** Full argv (program first) to remove the CA from an NSS database. */
export function nssRemoveCommand(dbDir: string, nickname = DEFAULT_NSS_NICKNAME): TrustStoreCommand {
  return { argv: ['certutil', ...nssDeleteCertificateArgs(dbDir, nickname)], needsAdmin: false };
}

export interface NssOptions {
  /** certutil to run. Default "certutil" from PATH. */
  certutilPath?: string;
}

/**
 * Trusts the CA in the NSS database at `dbDir` (e.g. ~/.pki/nssdb for Chromium on Linux, or a Firefox
 * profile directory), creating the database when there is none. A certificate already stored under
 * `nickname` (say, the CA before a renewal) is replaced, so running it again is safe.
 */
export async function installIntoNssDb(dbDir: string, caPemPath: string, nickname = DEFAULT_NSS_NICKNAME, options: NssOptions = {}): Promise<void> {
  const certutil = nssCertutil(options);
  if (nickname.trim().length === 0) throw new Error('NSS nickname is empty: pass a name such as "Bifrost Edge Local CA".');
  await access(caPemPath).catch(() => {
    throw new Error(`CA certificate ${caPemPath} does not exist: load or create the CA before installing it.`);
  });
  if (!(await hasNssDatabase(dbDir))) {
    await mkdir(dbDir, { recursive: true, mode: 0o700 });
    await runCertutil(certutil, nssCreateDatabaseArgs(dbDir));
  }
  await removeFromNssDb(dbDir, nickname, options);
  await runCertutil(certutil, nssAddCertificateArgs(dbDir, caPemPath, nickname));
}

/** Removes every certificate stored under `nickname` from the NSS database at `dbDir`; a no-op when there is none. */
export async function removeFromNssDb(dbDir: string, nickname = DEFAULT_NSS_NICKNAME, options: NssOptions = {}): Promise<void> {
  const certutil = nssCertutil(options);
  if (!(await hasNssDatabase(dbDir))) return;
  // certutil -D removes one certificate per call and a nickname can hold several; bounded in case one never goes.
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const listed = await runCertutil(certutil, ['-d', `sql:${dbDir}`, '-L', '-n', nickname]).then(
      () => true,
      (error: unknown) => {
        if (error instanceof CertutilMissingError) throw error;
        return false;
      },
    );
    if (!listed) return;
    await runCertutil(certutil, nssDeleteCertificateArgs(dbDir, nickname));
  }
  throw new Error(`Could not remove "${nickname}" from the NSS database ${dbDir}: remove it by hand with certutil -D.`);
}

class CertutilMissingError extends Error {
  constructor(certutil: string) {
    super(
      `${certutil} (NSS tools) was not found. Install it — Debian/Ubuntu: sudo apt-get install libnss3-tools; ` +
        'Fedora/RHEL: sudo dnf install nss-tools; macOS: brew install nss — then try again.',
    );
    this.name = 'CertutilMissingError';
  }
}

function nssCertutil(options: NssOptions): string {
  if (process.platform === 'win32' && options.certutilPath === undefined) {
    // Windows' own certutil.exe is a different program; Firefox there can read the Windows Root store.
    throw new Error('NSS certutil is not used on Windows: install the CA into the Windows Root store and set Firefox\'s security.enterprise_roots.enabled.');
  }
  return options.certutilPath ?? 'certutil';
}

async function hasNssDatabase(dbDir: string): Promise<boolean> {
  return fileExists(path.join(dbDir, 'cert9.db'));
}

async function runCertutil(certutil: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(certutil, args, { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (failure.code === 'ENOENT') throw new CertutilMissingError(certutil);
    const output = (failure.stderr || failure.stdout || failure.message).trim();
    throw new Error(`${certutil} ${args.join(' ')} failed: ${output}`);
  }
}
