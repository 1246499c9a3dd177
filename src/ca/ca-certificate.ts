import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { nameConstraintsExtension } from './name-constraints.js';
import { createRsaSha256Signer } from './rsa-signer.js';
import { randomSerialNumberHex } from './serial-numbers.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CaCertificateRequest {
  publicKeyPem: string;
  privateKeyPem: string;
  /** Readable part of the subject CN; a random suffix is appended. */
  commonName: string;
  validityYears: number;
  now: Date;
  /** DNS names the CA may sign for; undefined for an unconstrained CA. */
  permittedDnsNames?: readonly string[];
}

/**
 * Builds and self-signs a per-device root CA certificate that can only sign end-entity certificates.
 * The CN gets a random suffix so two devices' CAs (or an old and a renewed one) never share a subject:
 * NSS refuses a second certificate with the same subject under another nickname, and users can tell
 * them apart in keychain and certificate-manager UIs.
 */
export function buildCaCertificate(request: CaCertificateRequest): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(request.publicKeyPem);
  cert.serialNumber = randomSerialNumberHex();
  // Backdated a day so a device whose clock runs slightly behind still accepts it right away.
  cert.validity.notBefore = new Date(request.now.getTime() - DAY_MS);
  cert.validity.notAfter = addYears(request.now, request.validityYears);
  const subject = [
    { name: 'commonName', value: `${request.commonName} ${randomBytes(3).toString('hex')}` },
    { name: 'organizationName', value: 'Bifrost Edge' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const extensions: object[] = [
    // pathLen 0: this CA signs leaves only, never another CA.
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (request.permittedDnsNames !== undefined) {
    extensions.push(nameConstraintsExtension(request.permittedDnsNames));
  }
  cert.setExtensions(extensions);
  cert.sign(createRsaSha256Signer(request.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function addYears(date: Date, years: number): Date {
  const result = new Date(date.getTime());
  result.setUTCFullYear(result.getUTCFullYear() + years);
  return result;
}
