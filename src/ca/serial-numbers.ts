import { randomBytes } from 'node:crypto';

/**
 * A random 16-byte certificate serial number as the hex string node-forge expects.
 * The first byte is kept in 0x01..0x7f: a set high bit would make the DER INTEGER negative, and a
 * zero first byte would be a non-minimal encoding; strict verifiers reject both (RFC 5280 4.1.2.2).
 */
export function randomSerialNumberHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}
