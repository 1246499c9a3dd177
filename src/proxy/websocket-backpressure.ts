import type WebSocket from 'ws';

/**
 * How many bytes may wait to be written to one side of a relayed WebSocket before the other side is read no
 * further: a few of the largest messages a realtime API sends (audio), never the whole of a stream.
 */
export const RELAY_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Why each socket is not read now; it is read again once nothing holds it. */
const holds = new WeakMap<WebSocket, Set<string>>();

/**
 * Stops reading `ws` for `reason` (a name; holding twice for the same one counts once). Several steps pause
 * one socket (the relay's backpressure, message inspection that has fallen behind): one of them resuming it
 * must not undo another's pause.
 */
export function holdReading(ws: WebSocket, reason: string): void {
  let reasons = holds.get(ws);
  if (!reasons) {
    reasons = new Set();
    holds.set(ws, reasons);
  }
  if (reasons.size === 0) ws.pause();
  reasons.add(reason);
}

/** Lets go of `reason`'s hold on `ws`; it is read again when no other holds it. */
export function releaseReading(ws: WebSocket, reason: string): void {
  const reasons = holds.get(ws);
  if (!reasons?.delete(reason)) return;
  if (reasons.size === 0) ws.resume();
}

/**
 * Backpressure for one direction of a relay (http-mitm-proxy relays a frame with `to.send` and never looks at
 * what waits): while more than RELAY_HIGH_WATER_BYTES wait to be written to `to`, `from` is read no further, so
 * a peer that does not read (a stalled client, a slow server) holds its sender back through TCP instead of
 * growing Edge's memory without bound (an upstream streaming to a client that stopped reading took Edge to
 * 521 MiB in seconds). Reading resumes when `to`'s socket drained, or when `to` closed.
 */
export function limitBufferedRelay(from: WebSocket, to: WebSocket): void {
  const reason = 'relay backpressure';
  const send = to.send.bind(to) as (...args: unknown[]) => void;
  to.send = ((...args: unknown[]) => {
    send(...args);
    if (to.bufferedAmount > RELAY_HIGH_WATER_BYTES) holdReading(from, reason);
  }) as WebSocket['send'];
  const socket = (to as unknown as { _socket?: { on(event: 'drain', listener: () => void): void } })._socket;
  socket?.on('drain', () => {
    if (to.bufferedAmount <= RELAY_HIGH_WATER_BYTES) releaseReading(from, reason);
  });
  to.once('close', () => releaseReading(from, reason));
}
