/**
 * The server name (SNI) in a TLS ClientHello, read from the first bytes a client sends through a
 * tunnel. Edge decides what to decrypt by the CONNECT target; a client that CONNECTs to an IP address
 * (or resolves names itself) still names the host it wants in its ClientHello, and that is what tells
 * Edge an AI host is being reached around it.
 */

/** Bytes still needed before the first TLS record is complete, 0 when it is, or -1 when it is not TLS. */
export function clientHelloBytesMissing(bytes: Buffer): number {
  if (bytes.length === 0) return 5;
  if (bytes[0] !== 0x16) return -1;
  if (bytes.length < 5) return 5 - bytes.length;
  const recordLength = bytes.readUInt16BE(3);
  return Math.max(0, 5 + recordLength - bytes.length);
}

/** The host_name of the server_name extension, lower-cased, or undefined (not a ClientHello, no SNI, cut short). */
export function serverNameOf(bytes: Buffer): string | undefined {
  try {
    if (bytes[0] !== 0x16 || bytes[5] !== 0x01) return undefined;
    const end = Math.min(bytes.length, 5 + bytes.readUInt16BE(3));
    // Record header (5), handshake type and length (4), client version (2), random (32).
    let at = 5 + 4 + 2 + 32;
    at += 1 + bytes[at]!; // session id
    at += 2 + bytes.readUInt16BE(at); // cipher suites
    at += 1 + bytes[at]!; // compression methods
    const extensionsEnd = Math.min(end, at + 2 + bytes.readUInt16BE(at));
    at += 2;
    while (at + 4 <= extensionsEnd) {
      const type = bytes.readUInt16BE(at);
      const length = bytes.readUInt16BE(at + 2);
      at += 4;
      if (type === 0x0000) {
        // server_name_list: length (2), then entries of type (1), length (2), name.
        let entry = at + 2;
        const listEnd = Math.min(at + length, extensionsEnd);
        while (entry + 3 <= listEnd) {
          const nameType = bytes[entry]!;
          const nameLength = bytes.readUInt16BE(entry + 1);
          if (nameType === 0 && entry + 3 + nameLength <= listEnd) {
            return bytes.toString('ascii', entry + 3, entry + 3 + nameLength).toLowerCase().replace(/\.$/, '');
          }
          entry += 3 + nameLength;
        }
        return undefined;
      }
      at += length;
    }
    return undefined;
  } catch {
    // A read past the end: the hello was cut short or malformed.
    return undefined;
  }
}
