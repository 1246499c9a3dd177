import { rootCertificates } from 'node:tls';

export interface ClientEnvironmentOptions {
  /**
   * A PEM bundle with the public roots plus our CA (see `caBundleWithPublicRoots`). REQUESTS_CA_BUNDLE,
   * SSL_CERT_FILE, GIT_SSL_CAINFO and CURL_CA_BUNDLE *replace* a tool's roots rather than add to them, and the
   * proxy tunnels non-AI hosts without decrypting them, so with only our CA those tools would reject every
   * other site. Defaults to `caPath`, which is only right for tools that talk to intercepted hosts alone.
   */
  caBundlePath?: string;
  /** Hosts that must bypass the proxy. Default localhost, 127.0.0.1, ::1. */
  noProxy?: readonly string[];
}

const DEFAULT_NO_PROXY = ['localhost', '127.0.0.1', '::1'];

/**
 * Environment variables that make CLI tools and SDKs send HTTPS through the Edge proxy and trust its CA:
 * Node (NODE_EXTRA_CA_CERTS, additive), Python requests (REQUESTS_CA_BUNDLE), OpenSSL-based tools
 * (SSL_CERT_FILE), git (GIT_SSL_CAINFO), curl (CURL_CA_BUNDLE), and the proxy variables in both cases
 * because tools disagree on which spelling they read. Node's own fetch ignores HTTPS_PROXY (it needs an
 * undici ProxyAgent), so this covers the SDKs and tools that honour the variables.
 */
export function clientEnvironment(caPath: string, proxyUrl: string, options: ClientEnvironmentOptions = {}): Record<string, string> {
  if (caPath.length === 0) throw new Error('clientEnvironment needs the path of the CA certificate (ca.pem).');
  const proxy = parseProxyUrl(proxyUrl);
  const bundle = options.caBundlePath ?? caPath;
  const noProxy = (options.noProxy ?? DEFAULT_NO_PROXY).join(',');
  return {
    NODE_EXTRA_CA_CERTS: caPath,
    REQUESTS_CA_BUNDLE: bundle,
    SSL_CERT_FILE: bundle,
    GIT_SSL_CAINFO: bundle,
    CURL_CA_BUNDLE: bundle,
    HTTPS_PROXY: proxy,
    https_proxy: proxy,
    HTTP_PROXY: proxy,
    http_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}

/**
 * Node's bundled Mozilla roots followed by our CA, for the `caBundlePath` file. Note these are not the OS
 * store: roots that only an employer installed into the OS (e.g. for another TLS inspection box) are absent;
 * pass them as `extraRootsPem` when needed.
 */
export function caBundleWithPublicRoots(caPem: string, extraRootsPem: readonly string[] = []): string {
  return [...rootCertificates, ...extraRootsPem, caPem].map((pem) => pem.trim()).join('\n') + '\n';
}

function parseProxyUrl(proxyUrl: string): string {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    throw new Error(`Invalid proxy URL ${JSON.stringify(proxyUrl)}: expected something like "http://127.0.0.1:8888".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Proxy URL ${JSON.stringify(proxyUrl)} must start with http:// (the Edge proxy listens for plain HTTP CONNECT).`);
  }
  // Tools differ on trailing slashes and paths; the bare origin (plus credentials, if any) is what all accept.
  return url.username ? url.href.replace(/\/$/, '') : url.origin;
}
