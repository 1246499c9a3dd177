import type { IWebSocketContext } from 'http-mitm-proxy';
import type WebSocket from 'ws';
import type { Logger } from '../log.js';
import { holdReading, releaseReading } from './websocket-backpressure.js';
import { closeReason } from './websocket-close-reason.js';
import type { HandOver, MessageVerdict, WebSocketMessageInspector } from './websocket-inspection.js';
import type { SessionClose } from './websocket-session-usage.js';

/** Client messages waiting for their decision before the client's socket stops being read. */
const MAX_PENDING_MESSAGES = 64;

/** `ws`'s WebSocket.CONNECTING and OPEN. */
const CONNECTING = 0;
const OPEN = 1;

interface PausableWebSocket {
  pause(): void;
  resume(): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
}

/**
 * Puts `inspector` between the client and the server of one relayed WebSocket (http-mitm-proxy's frame hook):
 * each whole client message (`ws` joins fragments) is decided before it is sent, one at a time and in order, so
 * a message decided quickly never overtakes one still being decided. A refused message is never handed back to
 * the library, so it is never sent; both sockets close, or, for a refusal the API itself answers with a server
 * message (a Responses turn), the client gets that message and both stay open. Server messages and pings go
 * through at once, unchanged; a server message is then read for the usage it reports (charged to the key), and
 * a session whose key has used up its tokens or budget is closed with the policy's reason. When either socket
 * closes, what the session still holds in the key's windows is given back. A message allowed after a socket
 * closed (its client left during the decision) is not handed to the library, which would drop it ("Cannot send"):
 * the inspector is told it was not sent, so a turn neither counts nor is recorded as sent.
 */
export function inspectClientMessages(ctx: IWebSocketContext, inspector: WebSocketMessageInspector, log: Logger): void {
  const client = ctx.clientToProxyWebSocket as unknown as WebSocket;
  let queue: Promise<void> = Promise.resolve();
  let pending = 0;
  let closed = false;

  const closeBoth = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    // The library's own close handler would relay the client's echo to the server: both are closed here.
    (ctx as { closedByServer?: boolean }).closedByServer = true;
    client.close(code, closeReason(reason));
    (ctx.proxyToServerWebSocket as unknown as PausableWebSocket | undefined)?.close(1000);
  };

  /** Edge ends the session on its own: the key's budget is spent, or a new policy no longer allows its key. */
  const closeSession = (close: SessionClose) => {
    if (close.recordError) log.warn('could not record a WebSocket closed for its key', { error: close.recordError.message });
    closeBoth(close.code, close.reason);
  };

  /** Reads a relayed server message for usage; never throws into the relay, and a message it cannot read is not metered. */
  const meter = (data: unknown) => {
    let charged: Promise<SessionClose | undefined> | undefined;
    try {
      charged = inspector.serverMessage(toBuffer(data));
    } catch (err) {
      log.warn('could not read a WebSocket server message for usage', { error: (err as Error).message });
      return;
    }
    charged?.then((close) => {
      if (close) closeSession(close);
    }, (err: unknown) => log.warn('could not record the usage of a WebSocket answer', { error: (err as Error).message }));
  };
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    inspector.closed().catch((err: unknown) => log.warn('could not record the estimate of a WebSocket turn never answered', { error: (err as Error).message }));
  };
  // However the session ends (either side closes, an error, Edge stopping), the client's socket closes last.
  client.once('close', end);
  inspector.watch?.(closeSession);

  ctx.onWebSocketFrame((_ctx, type, fromServer, data, flags, callback) => {
    if (fromServer || type !== 'message') {
      callback(null, data, flags);
      if (fromServer && type === 'message') meter(data);
      return;
    }
    // A client that sends faster than messages are decided (content safety asks the gateway) is read no further.
    if (++pending === MAX_PENDING_MESSAGES) holdReading(client, 'message inspection');
    const isBinary = flags === true;
    /** Hands an allowed message to the library, which sends it at once, if the upstream is open; says which it was. */
    const handOver = async (verdict: Extract<MessageVerdict, { action: 'forward' }>) => {
      const upstream = ctx.proxyToServerWebSocket as unknown as PausableWebSocket | undefined;
      const sent = !closed && upstream?.readyState === OPEN;
      if (sent) callback(null, verdict.data ?? data, flags);
      if (!verdict.handedOver) return;
      const outcome: HandOver = sent ? { sent: true } : { sent: false, errorType: whyNotSent(ctx, upstream) };
      try {
        await verdict.handedOver(outcome);
      } catch (err) {
        // Its record could not be written and the policy fails closed: the session ends, as an HTTP answer is cut off.
        log.error('could not record a WebSocket message', { error: (err as Error).message });
        closeBoth(1011, 'Bifrost Edge could not record a message; the session is closed');
      }
    };
    queue = queue.then(async () => {
      if (closed) return;
      const verdict = await inspector.inspect(toBuffer(data), isBinary);
      if (verdict.action === 'forward') await handOver(verdict);
      else if (closed) return;
      else if (verdict.action === 'reply') client.send(verdict.data, { binary: false });
      else closeBoth(verdict.code, verdict.reason);
    }).catch((err: unknown) => {
      log.error('websocket message inspection failed', { error: (err as Error).message });
      closeBoth(1011, 'Bifrost Edge could not inspect a message; it was not sent');
    }).finally(() => {
      if (pending-- === MAX_PENDING_MESSAGES) releaseReading(client, 'message inspection');
    });
  });
}

/**
 * Why an allowed message could not be handed over: its client left, the upstream was not open yet (still
 * connecting, or not attached), or the upstream closed. Edge closing the session (a key's budget used up) closes
 * the upstream too: the library marks it closed by the server.
 */
function whyNotSent(ctx: IWebSocketContext, upstream: PausableWebSocket | undefined): Extract<HandOver, { sent: false }>['errorType'] {
  if ((ctx as { closedByClient?: boolean }).closedByClient) return 'client_aborted';
  if (upstream === undefined || upstream.readyState === CONNECTING) return 'upstream_not_open';
  return 'upstream_closed';
}

/** A message as `ws` hands it over (a Buffer; an ArrayBuffer or fragments under another binaryType). */
function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  return Buffer.from(data as ArrayBuffer);
}

/**
 * `ws` stops reading a message over its size limit (maxPayload) itself and closes with 1009 and no reason; the
 * client is told the limit instead, and the refusal is recorded. `ws` closes before it reports the error, so
 * the reason is given by the close call.
 */
export function explainTooBigMessages(ctx: IWebSocketContext, inspector: WebSocketMessageInspector, log: Logger): void {
  const client = ctx.clientToProxyWebSocket as unknown as PausableWebSocket & { on(event: 'error', listener: (err: Error & { code?: string }) => void): void };
  const close = client.close.bind(client);
  const reason = closeReason(inspector.tooBigReason);
  client.close = (code, given) => close(code, given ?? (code === 1009 ? reason : undefined));
  client.on('error', (err) => {
    if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
    inspector.recordTooBig().catch((recordErr: unknown) => log.warn('could not record a WebSocket message over the size limit', { error: (recordErr as Error).message }));
  });
}
