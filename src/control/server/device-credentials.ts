import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device credentials are 256-bit random bearer tokens. They are stored as a plain SHA-256: with that
 * much entropy a slow password hash buys nothing, and a hash lookup stays an index scan.
 */
export function newDeviceCredential(): string {
  return `edc_${randomBytes(32).toString('base64url')}`;
}

export function hashDeviceCredential(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

export function newDeviceId(): string {
  return `dev_${randomBytes(12).toString('hex')}`;
}

/** Constant-time comparison of two secrets of possibly different lengths (compares their hashes). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
