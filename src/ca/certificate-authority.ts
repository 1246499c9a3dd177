import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';
import { buildCaCertificate } from './ca-certificate.js';
import { generateRsaKeyPair } from './key-pairs.js';
import { normalizePermittedDnsNames, readPermittedDnsNames } from './name-constraints.js';
import { ensurePrivateDirectory, tightenMode, writeFileAtomically } from './private-files.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
/** Suffix of the previous CA's files, kept after a renewal so it can still be removed from trust stores. */
export const PREVIOUS_CA_SUFFIX = '.old';

/** A loaded, usable per-device root CA. */
export interface CertificateAuthority {
  certPem: string;
  /** PKCS#8 PEM of the CA private key. Never log it. */
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** SHA-256 of the DER certificate as colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprintSha256: string;
  notAfter: Date;
  /** The certificate parsed by node-forge, used as the issuer of leaf certificates. */
  cert: forge.pki.Certificate;
}

export interface LoadOrCreateCaOptions {
  /** Directory for ca.pem and ca-key.pem; created with mode 0700. */
  dir: string;
  /** Readable part of the CA's common name; a random hex suffix is always appended. */
  commonName?: string;
  /**
   * DNS names the CA may sign for, e.g. ['api.openai.com', '.githubcopilot.com']. When given the CA carries a
   * critical Name Constraints extension, so even a stolen CA key cannot impersonate other sites to clients that
   * enforce it. Changing the list replaces the CA (the new one must be trusted again).
   */
  nameConstraints?: string[];
  /** Lifetime of a new CA. Default 10. */
  validityYears?: number;
  /** Replace the CA when it expires within this many days. Default 90. */
  renewBeforeDays?: number;
  now?: () => Date;
  /** Receives one line per notable event (creation, renewal and why, permissions fixed). Never receives key material. */
  log?: (msg: string) => void;
}

type ExistingCa =
  | { state: 'missing' }
  | { state: 'unusable'; reason: string }
  | { state: 'usable'; ca: CertificateAuthority; notBefore: Date };

/**
 * Loads the device's root CA from `dir`, or creates one. An existing CA is reused unless it is unreadable,
 * corrupt, expires within `renewBeforeDays`, or was made for different name constraints; then a new one
 * is created and the old files are kept as ca.pem.old / ca-key.pem.old (and the reason logged).
 * Callers should compare `fingerprintSha256` with what they installed into trust stores and reinstall on change.
 */
export async function loadOrCreateCa(options: LoadOrCreateCaOptions): Promise<CertificateAuthority> {
  const validityYears = options.validityYears ?? 10;
  const renewBeforeDays = options.renewBeforeDays ?? 90;
  checkLifetimeOptions(validityYears, renewBeforeDays);
  const permittedDnsNames = options.nameConstraints === undefined ? undefined : normalizePermittedDnsNames(options.nameConstraints);
  const now = (options.now ?? (() => new Date()))();
  const log = options.log ?? ((msg: string) => console.warn(`[bifrost-edge ca] ${msg}`));
  const certPath = path.join(options.dir, CA_CERT_FILE);
  const keyPath = path.join(options.dir, CA_KEY_FILE);

  const dirNote = await ensurePrivateDirectory(options.dir);
  if (dirNote) log(dirNote);
  const keyNote = await tightenMode(keyPath, 0o600).catch(ignoreMissingFile);
  if (keyNote) log(keyNote);

  const existing = await readExistingCa(certPath, keyPath);
  if (existing.state === 'usable') {
    const reason = reasonToReplace(existing.ca, existing.notBefore, now, renewBeforeDays, permittedDnsNames);
    if (reason === undefined) return existing.ca;
    log(`Replacing CA ${existing.ca.fingerprintSha256}: ${reason}.`);
  } else if (existing.state === 'unusable') {
    log(`Replacing CA in ${options.dir}: ${existing.reason}.`);
  } else {
    log(`No CA in ${options.dir}; creating one.`);
  }
  if (existing.state !== 'missing') {
    await keepPreviousCa(certPath, keyPath);
    log(`Previous CA files kept as ${CA_CERT_FILE}${PREVIOUS_CA_SUFFIX} and ${CA_KEY_FILE}${PREVIOUS_CA_SUFFIX}; install the new CA into trust stores.`);
  }

  const keys = await generateRsaKeyPair();
  const certPem = buildCaCertificate({
    publicKeyPem: keys.publicKeyPem,
    privateKeyPem: keys.privateKeyPem,
    commonName: options.commonName ?? 'Bifrost Edge Local CA',
    validityYears,
    now,
    permittedDnsNames,
  });
  // Key first: a crash between the two writes leaves a key that matches no certificate, which the next
  // run detects and repairs, instead of a certificate whose key is lost.
  await writeFileAtomically(keyPath, keys.privateKeyPem, 0o600);
  await writeFileAtomically(certPath, certPem, 0o644);
  const ca = parseCa(certPem, keys.privateKeyPem, certPath, keyPath).ca;
  log(`Created CA ${ca.fingerprintSha256} (${ca.cert.subject.getField('CN').value}), valid until ${ca.notAfter.toISOString()}.`);
  return ca;
}

function checkLifetimeOptions(validityYears: number, renewBeforeDays: number): void {
  if (!Number.isInteger(validityYears) || validityYears < 1 || validityYears > 30) {
    throw new Error(`validityYears must be a whole number from 1 to 30, got ${validityYears}.`);
  }
  if (!Number.isFinite(renewBeforeDays) || renewBeforeDays < 0 || renewBeforeDays >= validityYears * 365) {
    // Otherwise every start would find the fresh CA "due for renewal" and replace it again.
    throw new Error(`renewBeforeDays must be between 0 and the CA lifetime (${validityYears * 365} days), got ${renewBeforeDays}.`);
  }
}

async function readExistingCa(certPath: string, keyPath: string): Promise<ExistingCa> {
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem.missing && keyPem.missing) return { state: 'missing' };
  if ('error' in certPem) return { state: 'unusable', reason: `${CA_CERT_FILE} is unreadable (${certPem.error})` };
  if ('error' in keyPem) return { state: 'unusable', reason: `${CA_KEY_FILE} is unreadable (${keyPem.error})` };
  if (certPem.missing) return { state: 'unusable', reason: `${CA_CERT_FILE} is missing` };
  if (keyPem.missing) return { state: 'unusable', reason: `${CA_KEY_FILE} is missing` };
  try {
    return { state: 'usable', ...parseCa(certPem.text, keyPem.text, certPath, keyPath) };
  } catch (error) {
    return { state: 'unusable', reason: `it is corrupt (${errorMessage(error)})` };
  }
}

type OptionalText = { missing: true } | { missing: false; text: string } | { missing: false; error: string };

async function readOptional(file: string): Promise<OptionalText> {
  try {
    return { missing: false, text: await readFile(file, 'utf8') };
  } catch (error) {
    if (isMissingFile(error)) return { missing: true };
    return { missing: false, error: errorMessage(error) };
  }
}

/** Parses and cross-checks the two PEM files; throws with the reason when they cannot be used as a CA. */
function parseCa(certPem: string, keyPem: string, certPath: string, keyPath: string): { ca: CertificateAuthority; notBefore: Date } {
  const x509 = new X509Certificate(certPem);
  const privateKey = createPrivateKey(keyPem);
  if (!x509.ca) throw new Error(`${CA_CERT_FILE} is not a CA certificate`);
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`${CA_KEY_FILE} does not belong to ${CA_CERT_FILE}`);
  // forge signs the leaves, so it must be able to read the certificate too (it only handles RSA keys).
  const cert = forge.pki.certificateFromPem(certPem);
  return {
    ca: {
      certPem,
      keyPem,
      certPath,
      keyPath,
      fingerprintSha256: x509.fingerprint256,
      notAfter: new Date(x509.validTo),
      cert,
    },
    notBefore: new Date(x509.validFrom),
  };
}

function reasonToReplace(
  ca: CertificateAuthority,
  notBefore: Date,
  now: Date,
  renewBeforeDays: number,
  permittedDnsNames: readonly string[] | undefined,
): string | undefined {
  if (ca.notAfter.getTime() <= now.getTime()) return `it expired on ${ca.notAfter.toISOString()}`;
  if (ca.notAfter.getTime() - now.getTime() < renewBeforeDays * DAY_MS) {
    return `it expires on ${ca.notAfter.toISOString()}, within ${renewBeforeDays} days`;
  }
  if (notBefore.getTime() > now.getTime()) return `it is not valid before ${notBefore.toISOString()} (was the clock changed?)`;
  const current = readPermittedDnsNames(ca.cert);
  if (!sameNames(current, permittedDnsNames)) {
    return `it is limited to ${describeNames(current)} but ${describeNames(permittedDnsNames)} was requested`;
  }
  return undefined;
}

function sameNames(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((name, index) => name === b[index]);
}

function describeNames(names: readonly string[] | undefined): string {
  return names === undefined ? 'no names (unconstrained)' : `[${names.join(', ')}]`;
}

async function keepPreviousCa(certPath: string, keyPath: string): Promise<void> {
  await rename(certPath, certPath + PREVIOUS_CA_SUFFIX).catch(ignoreMissingFile);
  await rename(keyPath, keyPath + PREVIOUS_CA_SUFFIX).catch(ignoreMissingFile);
  // A rename keeps the old mode; the old key is still a live secret while it is trusted anywhere.
  if (process.platform !== 'win32') await chmod(keyPath + PREVIOUS_CA_SUFFIX, 0o600).catch(ignoreMissingFile);
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ignoreMissingFile(error: unknown): undefined {
  if (isMissingFile(error)) return undefined;
  throw error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
