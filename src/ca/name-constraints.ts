import forge from 'node-forge';

const { asn1 } = forge;

/** id-ce-nameConstraints (RFC 5280 4.2.1.10). */
export const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** GeneralName CHOICE tags (RFC 5280 4.2.1.6). */
const DNS_NAME_TAG = 2;
const IP_ADDRESS_TAG = 7;

const DNS_CONSTRAINT_PATTERN = /^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Checks and canonicalises the DNS names a CA may sign for: lower case, sorted, no duplicates.
 * `api.openai.com` permits that host and every name below it; `.githubcopilot.com` permits only names
 * below it (OpenSSL and NSS both read a leading dot that way).
 */
export function normalizePermittedDnsNames(names: readonly string[]): string[] {
  const normalized = new Set<string>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!DNS_CONSTRAINT_PATTERN.test(name) || name.length > 253) {
      throw new Error(
        `Invalid CA name constraint "${raw}": use a DNS name such as "api.openai.com" or ".githubcopilot.com" ` +
          '(no wildcards, ports, schemes or IP addresses).',
      );
    }
    normalized.add(name);
  }
  if (normalized.size === 0) {
    throw new Error('nameConstraints is empty: omit it for an unconstrained CA, or list the AI domains the CA may sign.');
  }
  return [...normalized].sort();
}

/**
 * Builds a critical Name Constraints extension for node-forge, which has no builder for it:
 *
 *   NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees, excludedSubtrees [1] GeneralSubtrees }
 *   GeneralSubtree  ::= SEQUENCE { base GeneralName }          -- minimum/maximum left at their defaults
 *
 * Besides the permitted dNSName subtrees it excludes every IPv4 and IPv6 address: a constraint that
 * only mentions DNS names leaves IP addresses unconstrained, so without the exclusion the CA could
 * still vouch for any https://<ip>/ (this is how "technically constrained" CAs are written).
 */
export function nameConstraintsExtension(permittedDnsNames: readonly string[]): {
  id: string;
  critical: true;
  value: forge.asn1.Asn1;
} {
  const subtree = (tag: number, value: string): forge.asn1.Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, value),
    ]);
  const permitted = normalizePermittedDnsNames(permittedDnsNames).map((name) => subtree(DNS_NAME_TAG, name));
  // iPAddress subtrees are address ‖ mask: 0.0.0.0/0 and ::/0 match every address.
  const everyIpv4 = '\0'.repeat(8);
  const everyIpv6 = '\0'.repeat(32);
  const excluded = [subtree(IP_ADDRESS_TAG, everyIpv4), subtree(IP_ADDRESS_TAG, everyIpv6)];
  return {
    id: NAME_CONSTRAINTS_OID,
    critical: true,
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, permitted),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 1, true, excluded),
    ]),
  };
}

/**
 * The permitted dNSName subtrees of a certificate's Name Constraints extension, canonicalised,
 * or undefined when the certificate has no such extension (an unconstrained CA).
 * Parsed here rather than through forge's own parsing so that reading matches what we write.
 */
export function readPermittedDnsNames(cert: forge.pki.Certificate): string[] | undefined {
  const extension = cert.extensions.find((ext: { id?: string }) => ext.id === NAME_CONSTRAINTS_OID) as
    | { value: string | forge.asn1.Asn1 }
    | undefined;
  if (!extension) return undefined;
  const root = typeof extension.value === 'string' ? asn1.fromDer(extension.value) : extension.value;
  const names: string[] = [];
  for (const subtrees of asArray(root.value)) {
    if (subtrees.tagClass !== asn1.Class.CONTEXT_SPECIFIC || subtrees.type !== 0) continue;
    for (const subtree of asArray(subtrees.value)) {
      const base = asArray(subtree.value)[0];
      if (base && base.tagClass === asn1.Class.CONTEXT_SPECIFIC && base.type === DNS_NAME_TAG && typeof base.value === 'string') {
        names.push(base.value.toLowerCase());
      }
    }
  }
  return [...new Set(names)].sort();
}

function asArray(value: forge.asn1.Asn1['value']): forge.asn1.Asn1[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Whether a certificate for `hostname` (already normalised) chains to a CA limited to `permittedDnsNames`,
 * applying the same rule as OpenSSL's nc_dns(): the name equals the base, or ends with it on a label
 * boundary; a base starting with "." only matches names below it. IP literals never pass because the
 * constraint excludes all addresses. `undefined` means an unconstrained CA.
 */
export function isHostnamePermitted(hostname: string, permittedDnsNames: readonly string[] | undefined, isIpAddress: boolean): boolean {
  if (permittedDnsNames === undefined) return true;
  if (isIpAddress) return false;
  return permittedDnsNames.some((base) => {
    if (base.startsWith('.')) return hostname.length > base.length && hostname.endsWith(base);
    return hostname === base || hostname.endsWith(`.${base}`);
  });
}
