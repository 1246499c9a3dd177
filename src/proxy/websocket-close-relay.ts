import type { IWebSocketContext, Proxy as MitmProxy } from 'http-mitm-proxy';

/** `ws`'s readyState of an open socket. */
const OPEN = 1;

/** Codes `ws` reports for a close that had no code (1005) or was no close frame at all (1006); never sent. */
const NO_STATUS_CODES: ReadonlySet<number> = new Set([1005, 1006]);

interface ClosableWebSocket {
  readonly readyState: number;
  close(code?: number, reason?: Buffer): void;
}

/**
 * Relays a WebSocket's close to its other side, in place of http-mitm-proxy's close step: for a close without a
 * status code (1005) from the upstream, that step closed the upstream again instead of the client, so the
 * client's socket stayed open for good. Now the other side is closed with the code and reason given, or with
 * none when there was none (1005) or the connection dropped (1006). A socket without an upstream (Edge closed
 * it with its own reason) has nothing to relay to.
 *
 * The handler never calls back, so the library's own step never runs (its step runs once every handler has).
 */
export function relayWebSocketCloses(proxy: MitmProxy): void {
  proxy.onWebSocketClose((ctx: IWebSocketContext, code: number, reason: Buffer) => {
    const client = ctx.clientToProxyWebSocket as unknown as ClosableWebSocket | undefined;
    const upstream = ctx.proxyToServerWebSocket as unknown as ClosableWebSocket | undefined;
    if (!client || !upstream) return;
    // The library marks which side closed before it calls the handlers.
    const other = (ctx as { closedByServer?: boolean }).closedByServer ? client : upstream;
    if (other.readyState !== OPEN) return;
    if (NO_STATUS_CODES.has(code)) {
      other.close();
      return;
    }
    try {
      other.close(code, reason);
    } catch {
      // A code `ws` will not send (it checked the one it received, so this is only a safeguard): close without.
      other.close();
    }
  });
}
