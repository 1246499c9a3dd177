import { createHash } from 'node:crypto';

/** RFC 4122 name-based namespace for URLs; our names are reverse-DNS identifiers plus content. */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * RFC 4122 version 5 (SHA-1, name-based) UUID in upper case, the form Apple's tools write. The same
 * name always gives the same UUID, so regenerating a profile from the same input changes nothing and an
 * MDM does not see a "new" profile; a different input gives a different UUID.
 */
export function uuidV5(name: string, namespace: string = URL_NAMESPACE): string {
  const namespaceBytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  if (namespaceBytes.length !== 16) throw new Error(`UUID namespace ${JSON.stringify(namespace)} is not a UUID.`);
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
