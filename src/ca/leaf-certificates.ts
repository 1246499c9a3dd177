import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateAuthority } from './certificate-authority.js';
import { normalizeHostname } from './hostnames.js';
import { generateRsaKeyPair, type PemKeyPair } from './key-pairs.js';
import { LeafCertificateIssuer } from './leaf-certificate-issuer.js';
import { LruCache } from './lru-cache.js';
import { isHostnamePermitted, readPermittedDnsNames } from './name-constraints.js';

/** Reissue a cached certificate this long before it expires, so a handshake never gets an expired one. */
const REISSUE_BEFORE_EXPIRY_MS = 60 * 60 * 1000;

export interface LeafCertificate {
  certPem: string;
  /** The shared leaf private key (PKCS#8 PEM), the same for every host. */
  keyPem: string;
}

export interface LeafCertificateStoreOptions {
  /** How many hosts' certificates to keep in memory. Default 1000. */
  maxHosts?: number;
  now?: () => Date;
}

interface CachedLeaf {
  certificate: LeafCertificate;
  notAfter: Date;
  secureContext?: SecureContext;
}

/**
 * Hands out TLS server certificates (and ready-made secure contexts) for intercepted hosts, signed by the
 * device CA and cached in memory. All hosts share one leaf key pair generated once: generating a key per
 * host is what makes http-mitm-proxy's default path slow, and a per-host key buys nothing here because
 * every certificate is equally backed by the one CA key on this machine.
 */
export class LeafCertificateStore {
  private readonly issuer: LeafCertificateIssuer;
  private readonly cache: LruCache<string, CachedLeaf>;
  private readonly permittedDnsNames: string[] | undefined;
  private readonly now: () => Date;
  private readonly leafKeyPem: string;

  /** Generates the shared leaf key pair (node:crypto, off the event loop) and builds the store. */
  static async create(ca: CertificateAuthority, options: LeafCertificateStoreOptions = {}): Promise<LeafCertificateStore> {
    return new LeafCertificateStore(ca, await generateRsaKeyPair(), options);
  }

  constructor(
    private readonly ca: CertificateAuthority,
    leafKeys: PemKeyPair,
    options: LeafCertificateStoreOptions = {},
  ) {
    this.issuer = new LeafCertificateIssuer(ca, leafKeys.publicKeyPem);
    this.leafKeyPem = leafKeys.privateKeyPem;
    this.cache = new LruCache(options.maxHosts ?? 1000);
    this.permittedDnsNames = readPermittedDnsNames(ca.cert);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The certificate and key to present for `hostname` (a DNS name or IP literal, no port).
   * Throws InvalidHostnameError for malformed names, and an Error when the CA's name constraints
   * do not cover the host (clients would reject the certificate anyway).
   */
  getCertificate(hostname: string): LeafCertificate {
    return this.entryFor(hostname).certificate;
  }

  /** A cached `tls.SecureContext` for `hostname`, e.g. for an SNICallback or `tls.createServer`. */
  getSecureContext(hostname: string): SecureContext {
    const entry = this.entryFor(hostname);
    entry.secureContext ??= createSecureContext({ cert: entry.certificate.certPem, key: entry.certificate.keyPem });
    return entry.secureContext;
  }

  private entryFor(hostnameInput: string): CachedLeaf {
    const { hostname, isIpAddress } = normalizeHostname(hostnameInput);
    const now = this.now();
    const cached = this.cache.get(hostname);
    if (cached && now.getTime() < cached.notAfter.getTime() - REISSUE_BEFORE_EXPIRY_MS) return cached;

    if (!isHostnamePermitted(hostname, this.permittedDnsNames, isIpAddress)) {
      throw new Error(
        `The CA ${this.ca.fingerprintSha256} may only sign for [${(this.permittedDnsNames ?? []).join(', ')}] ` +
          `(name constraints), so clients would reject a certificate for "${hostname}". ` +
          'Tunnel this host without decrypting it, or add it to the CA nameConstraints (which replaces the CA).',
      );
    }
    const issued = this.issuer.issue(hostname, now);
    const entry: CachedLeaf = { certificate: { certPem: issued.certPem, keyPem: this.leafKeyPem }, notAfter: issued.notAfter };
    this.cache.set(hostname, entry);
    return entry;
  }
}
