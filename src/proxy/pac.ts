/**
 * A proxy auto-config file that sends only AI hosts through Edge and everything else DIRECT,
 * so a browser configured with it never depends on Edge for ordinary browsing.
 */
export function buildPacFile(proxyHostPort: string, hostPatterns: string[]): string {
  const patterns = JSON.stringify(hostPatterns.map((h) => h.toLowerCase()));
  return `// Bifrost Edge proxy auto-config. Generated; do not edit.
function FindProxyForURL(url, host) {
  var patterns = ${patterns};
  // "chatgpt.com." is the same host as "chatgpt.com" (a fully qualified name): it must not go DIRECT.
  host = host.toLowerCase().replace(/\\.+$/, "");
  for (var i = 0; i < patterns.length; i++) {
    if (patterns[i].indexOf('*') >= 0 ? shExpMatch(host, patterns[i]) : host === patterns[i]) {
      return "PROXY ${proxyHostPort}";
    }
  }
  return "DIRECT";
}
`;
}
