import type { SeenApp, SeenMcpServer } from '../protocol/heartbeat.js';

/** Inventory kept per device: what it reported most recently, per app/host and per MCP server. */
const MAX_ENTRIES = 500;

/**
 * Heartbeats report what was seen *since the last one*, so the server merges: a newer sighting of the
 * same app (same app and host) or MCP server (same name and target) replaces the older one; the list
 * keeps the most recently seen entries.
 */
export function mergeSeenApps(known: readonly SeenApp[], reported: readonly SeenApp[]): SeenApp[] {
  return mergeBy(known, reported, (a) => `${a.app}\u0000${a.host ?? ''}`);
}

export function mergeSeenMcpServers(known: readonly SeenMcpServer[], reported: readonly SeenMcpServer[]): SeenMcpServer[] {
  return mergeBy(known, reported, (m) => `${m.name}\u0000${m.target ?? ''}`);
}

function mergeBy<T extends { last_seen: string }>(known: readonly T[], reported: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of [...known, ...reported]) {
    const k = key(item);
    const existing = byKey.get(k);
    if (!existing || Date.parse(item.last_seen) >= Date.parse(existing.last_seen)) byKey.set(k, item);
  }
  return [...byKey.values()]
    .sort((a, b) => Date.parse(b.last_seen) - Date.parse(a.last_seen))
    .slice(0, MAX_ENTRIES);
}
