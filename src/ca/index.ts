// Public API of the CA module: the device root CA, leaf certificates for intercepted hosts,
// and the commands/environment that make clients trust the CA.
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  PREVIOUS_CA_SUFFIX,
  loadOrCreateCa,
  type CertificateAuthority,
  type LoadOrCreateCaOptions,
} from './certificate-authority.js';
export { writeHttpMitmProxyCaDir, type HttpMitmProxyCaPaths } from './http-mitm-proxy-ca-dir.js';
export { LeafCertificateStore, type LeafCertificate, type LeafCertificateStoreOptions } from './leaf-certificates.js';
export { LeafCertificateIssuer, type IssuedLeafCertificate } from './leaf-certificate-issuer.js';
export { InvalidHostnameError, normalizeHostname, type NormalizedHostname } from './hostnames.js';
export { isHostnamePermitted, normalizePermittedDnsNames, readPermittedDnsNames } from './name-constraints.js';
export { generateRsaKeyPair, type PemKeyPair } from './key-pairs.js';
export {
  DEBIAN_ANCHOR_PATH,
  MACOS_SYSTEM_KEYCHAIN,
  RHEL_ANCHOR_PATH,
  detectTrustStorePlatform,
  trustStoreInstallCommands,
  trustStoreRemoveCommands,
  type TrustStoreCommand,
  type TrustStorePlatform,
  type TrustStoreScope,
} from './trust-stores.js';
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
export { caBundleWithPublicRoots, clientEnvironment, type ClientEnvironmentOptions } from './client-environment.js';
