import type tls from 'node:tls';

/**
 * The certificates the TLS server offers by SNI, one per intercepted host, kept to the newest
 * `maxHosts`. `tls.Server.addContext` has no way to remove one, so the list only grew: a web page
 * making a browser CONNECT to api.1.githubcopilot.com, api.2…, (one wildcard catalog entry) grew the
 * agent by ~25 KB per name, forever, and every handshake scanned the whole list. The oldest hosts are
 * dropped from the server's list (Node keeps it as `_contexts`, pairs in the order added); a dropped
 * host is added again on its next tunnel.
 */
export class SniContexts {
  /** Hosts in the order their contexts were added (the same order as the server's list). */
  private readonly hosts = new Set<string>();

  constructor(
    private readonly server: tls.Server,
    private readonly contextFor: (host: string) => tls.SecureContext,
    private readonly maxHosts = 1000,
  ) {}

  get size(): number {
    return this.hosts.size;
  }

  /** Makes the server offer `host`'s certificate (throws what `contextFor` throws). */
  ensure(host: string): void {
    if (this.hosts.has(host)) return;
    this.server.addContext(host, this.contextFor(host));
    this.hosts.add(host);
    if (this.hosts.size > this.maxHosts) this.dropOldest(this.hosts.size - this.maxHosts);
  }

  private dropOldest(count: number): void {
    const contexts = (this.server as unknown as { _contexts?: unknown[] })._contexts;
    // Another runtime's TLS server may keep its list elsewhere: then nothing is dropped (as before).
    if (!Array.isArray(contexts) || contexts.length !== this.hosts.size) return;
    contexts.splice(0, count);
    let dropped = 0;
    for (const host of this.hosts) {
      if (dropped++ >= count) break;
      this.hosts.delete(host);
    }
  }
}
