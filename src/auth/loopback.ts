/**
 * The one definition of "loopback" for sign-in: the only place plain http:// is acceptable, because
 * traffic to it never leaves the machine (RFC 8252 §8.3).
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** True for `http://` URLs whose host is a loopback address. */
export function isLoopbackHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHostname(url.hostname);
}
