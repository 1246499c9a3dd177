import { isIP } from 'node:net';

/** Thrown for a hostname we will not put into a certificate; the message says what was wrong. */
export class InvalidHostnameError extends Error {
  constructor(hostname: string, problem: string) {
    super(`Cannot issue a certificate for ${JSON.stringify(hostname)}: ${problem}.`);
    this.name = 'InvalidHostnameError';
  }
}

export interface NormalizedHostname {
  /** Lower case, no trailing dot, IPv6 without brackets. */
  hostname: string;
  isIpAddress: boolean;
}

const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const HOSTNAME_CHARACTERS = /^[a-z0-9._*-]+$/;

/**
 * Validates and canonicalises a CONNECT/SNI hostname before it goes into a certificate and a cache key.
 * Accepts DNS names (letters, digits, '-', '_', '.', and '*' as a whole leftmost label) and IPv4/IPv6 literals.
 */
export function normalizeHostname(input: string): NormalizedHostname {
  if (typeof input !== 'string' || input.length === 0) {
    throw new InvalidHostnameError(String(input), 'the hostname is empty; pass the CONNECT host, e.g. "api.openai.com"');
  }
  const unbracketed = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  if (isIP(unbracketed) !== 0) return { hostname: unbracketed.toLowerCase(), isIpAddress: true };

  const hostname = input.toLowerCase().replace(/\.$/, '');
  if (hostname.length > MAX_HOSTNAME_LENGTH) {
    throw new InvalidHostnameError(input, `it is ${hostname.length} characters long; DNS names have at most ${MAX_HOSTNAME_LENGTH}`);
  }
  if (!HOSTNAME_CHARACTERS.test(hostname)) {
    const bad = [...hostname].find((char) => !HOSTNAME_CHARACTERS.test(char)) ?? '';
    const hint = bad === ':' ? ' (strip the port: pass "host", not "host:443")' : '';
    throw new InvalidHostnameError(input, `it contains ${JSON.stringify(bad)}; only letters, digits, ".", "-", "_" and a leading "*." are allowed${hint}`);
  }
  const labels = hostname.split('.');
  labels.forEach((label, index) => {
    if (label.length === 0) throw new InvalidHostnameError(input, 'it has an empty label (leading or repeated ".")');
    if (label.length > MAX_LABEL_LENGTH) {
      throw new InvalidHostnameError(input, `the label "${label.slice(0, 20)}…" is longer than ${MAX_LABEL_LENGTH} characters`);
    }
    if (label.includes('*') && (label !== '*' || index !== 0 || labels.length < 3)) {
      throw new InvalidHostnameError(input, 'a wildcard must be the whole leftmost label of a name with at least two more labels, e.g. "*.example.com"');
    }
  });
  return { hostname, isIpAddress: false };
}
