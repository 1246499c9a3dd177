import type http from 'node:http';
import { POLICY_EVENT_NAME } from '../protocol/paths.js';
import type { PolicyEvent } from '../protocol/policy-sync.js';

/**
 * Open `GET /api/edge/v1/policy/stream` responses, per device. Publishing a bundle calls `notify`,
 * which writes one `event: policy` to each of that device's streams; a timer writes heartbeat
 * comments so idle streams survive proxies and the device can tell a dead stream from a quiet one.
 */
export class PolicyStreamHub {
  private readonly streams = new Map<string, Set<http.ServerResponse>>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(heartbeatMs: number) {
    this.heartbeat = setInterval(() => this.broadcastComment('heartbeat'), heartbeatMs);
  }

  open(deviceId: string, res: http.ServerResponse, initial?: PolicyEvent): void {
    // The client may have gone away while the route looked up its bundle: its 'close' already fired,
    // so a stream registered now would never be removed.
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Stops nginx-style reverse proxies from buffering the stream.
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    if (initial) res.write(formatEvent(initial));
    let set = this.streams.get(deviceId);
    if (!set) {
      set = new Set();
      this.streams.set(deviceId, set);
    }
    set.add(res);
    res.on('close', () => {
      const current = this.streams.get(deviceId);
      current?.delete(res);
      if (current?.size === 0) this.streams.delete(deviceId);
    });
  }

  notify(deviceId: string, event: PolicyEvent): void {
    for (const res of this.streams.get(deviceId) ?? []) {
      if (!res.writableEnded) res.write(formatEvent(event));
    }
  }

  connectedStreams(deviceId: string): number {
    return this.streams.get(deviceId)?.size ?? 0;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const set of this.streams.values()) {
      for (const res of set) res.end();
    }
    this.streams.clear();
  }

  private broadcastComment(text: string): void {
    for (const set of this.streams.values()) {
      for (const res of set) if (!res.writableEnded) res.write(`: ${text}\n\n`);
    }
  }
}

export function formatEvent(event: PolicyEvent): string {
  return `event: ${POLICY_EVENT_NAME}\ndata: ${JSON.stringify(event)}\n\n`;
}
