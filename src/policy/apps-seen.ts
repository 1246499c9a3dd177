import type { SeenApp } from '../control/protocol/heartbeat.js';
import type { AppIdentity } from './apps.js';

/**
 * The AI apps this device has sent traffic from, for the inventory in Edge Control's heartbeat: one
 * entry per app and host, with its catalog status, when it was last seen and how many requests.
 * Bounded: past `capacity` entries the least recently seen one goes, so a device that sees every
 * browser extension under the sun still sends a heartbeat of bounded size.
 */
export class AppsSeen {
  private readonly entries = new Map<string, { app: string; host: string; status: SeenApp['status']; lastSeenMs: number; requests: number }>();

  constructor(private readonly capacity = 500) {}

  record(app: AppIdentity, atMs: number): void {
    const key = `${app.id}\u0000${app.host}`;
    const entry = this.entries.get(key);
    if (entry) {
      entry.lastSeenMs = atMs;
      entry.requests++;
      entry.status = app.status;
      // Re-insert so Map order stays least-recently-seen first.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return;
    }
    this.entries.set(key, { app: app.id, host: app.host, status: app.status, lastSeenMs: atMs, requests: 1 });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Most recently seen first. */
  list(): SeenApp[] {
    return [...this.entries.values()].reverse().map((e) => ({
      app: e.app.slice(0, 200),
      host: e.host.slice(0, 255),
      ...(e.status ? { status: e.status } : {}),
      last_seen: new Date(e.lastSeenMs).toISOString(),
      requests: e.requests,
    }));
  }
}
