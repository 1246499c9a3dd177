import forge from 'node-forge';
import type { CertificateAuthority } from './certificate-authority.js';
import { normalizeHostname } from './hostnames.js';
import { createRsaSha256Signer } from './rsa-signer.js';
import { randomSerialNumberHex } from './serial-numbers.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** CA/Browser Forum and Apple cap TLS server certificates at 398 days; stay a day under. */
const MAX_LEAF_LIFETIME_DAYS = 397;
/** X.509 ub-common-name (RFC 5280 appendix A): longer hostnames go in the SAN only. */
const MAX_COMMON_NAME_LENGTH = 64;

export interface IssuedLeafCertificate {
  certPem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Builds and signs TLS server certificates for one CA and one (shared) leaf public key.
 * Issuing does no key generation and signs with OpenSSL, so it takes about a millisecond.
 * It does not check the CA's name constraints: LeafCertificateStore does, before calling it.
 */
export class LeafCertificateIssuer {
  private readonly signer: forge.pki.rsa.PrivateKey;
  private readonly leafPublicKey: forge.pki.PublicKey;
  private readonly leafKeyIdentifier: string;
  private readonly caKeyIdentifier: string;

  constructor(
    private readonly ca: CertificateAuthority,
    leafPublicKeyPem: string,
  ) {
    this.signer = createRsaSha256Signer(ca.keyPem);
    this.leafPublicKey = forge.pki.publicKeyFromPem(leafPublicKeyPem);
    this.leafKeyIdentifier = keyIdentifier(this.leafPublicKey);
    // authorityKeyIdentifier must equal the CA's subjectKeyIdentifier so clients pick the right issuer.
    const caSki = ca.cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    this.caKeyIdentifier = caSki?.subjectKeyIdentifier
      ? forge.util.hexToBytes(caSki.subjectKeyIdentifier)
      : keyIdentifier(ca.cert.publicKey);
  }

  issue(hostnameInput: string, now: Date): IssuedLeafCertificate {
    const { hostname, isIpAddress } = normalizeHostname(hostnameInput);
    // Backdated a day for clients whose clocks run behind; never outliving the CA, which clients would reject.
    const notBefore = new Date(now.getTime() - DAY_MS);
    const notAfter = new Date(Math.min(notBefore.getTime() + MAX_LEAF_LIFETIME_DAYS * DAY_MS, this.ca.notAfter.getTime()));
    if (notAfter.getTime() <= now.getTime()) {
      throw new Error(`The CA expired on ${this.ca.notAfter.toISOString()}: restart Bifrost Edge so it renews the CA, then trust the new one.`);
    }

    const cert = forge.pki.createCertificate();
    cert.publicKey = this.leafPublicKey;
    cert.serialNumber = randomSerialNumberHex();
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    const subject: forge.pki.CertificateField[] = [{ name: 'organizationName', value: 'Bifrost Edge' }];
    if (hostname.length <= MAX_COMMON_NAME_LENGTH) subject.unshift({ name: 'commonName', value: hostname });
    cert.setSubject(subject);
    cert.setIssuer(this.ca.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [isIpAddress ? { type: 7, ip: hostname } : { type: 2, value: hostname }] },
      { name: 'subjectKeyIdentifier', value: octetString(this.leafKeyIdentifier) },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.caKeyIdentifier },
    ]);
    cert.sign(this.signer, forge.md.sha256.create());
    return { certPem: forge.pki.certificateToPem(cert), notBefore, notAfter };
  }
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, as a byte string. */
function keyIdentifier(publicKey: forge.pki.PublicKey): string {
  return forge.pki.getPublicKeyFingerprint(publicKey, { type: 'RSAPublicKey', md: forge.md.sha1.create(), encoding: 'binary' });
}

function octetString(bytes: string): forge.asn1.Asn1 {
  return forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, bytes);
}
