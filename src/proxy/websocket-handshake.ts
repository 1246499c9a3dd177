import { STATUS_CODES, type Agent, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IWebSocketContext, Proxy as MitmProxy } from 'http-mitm-proxy';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { isWritableHeaderText, relayableHeaders, relayableReason } from '../gateway/upstream-plan.js';
import type { WebSocketRoute, WebSocketUpstreamChoice } from '../gateway/websocket-route.js';
import type { Logger } from '../log.js';
import { limitBufferedRelay } from './websocket-backpressure.js';
import { closeReason } from './websocket-close-reason.js';
import { relayWebSocketCloses } from './websocket-close-relay.js';
import type { UpstreamOutcome, WebSocketRefusal } from './websocket-decision.js';
import type { WebSocketMessageInspector } from './websocket-inspection.js';
import { explainTooBigMessages, inspectClientMessages } from './websocket-message-relay.js';
import { dropFramesWithoutUpstream } from './websocket-relay-guard.js';
import { dialUpstreamWebSocket, type UpstreamWebSocket } from './websocket-upstream.js';

export type WebSocketPolicyVerdict =
  /** `route`: the mode and virtual key policy chose for the socket, as for a request; absent, the configuration's. */
  | { action: 'allow'; messages?: WebSocketMessageInspector; upstream?: (outcome: UpstreamOutcome) => Promise<void>; route?: WebSocketRoute }
  | { action: 'block'; message: string };

export interface WebSocketHandshakeOptions {
  proxy: MitmProxy;
  /** Why this upgrade must not be relayed at all, or undefined. */
  refusal: (upgradeReq: IncomingMessage) => WebSocketRefusal | undefined;
  /**
   * The policy decision on the WebSocket; undefined when none applies (it is relayed undecided). Given
   * `refused`, the upgrade Edge refused is recorded (and the verdict is a block).
   */
  decide: (upgradeReq: IncomingMessage, refused?: WebSocketRefusal) => Promise<WebSocketPolicyVerdict> | undefined;
  /** Where the upstream WebSocket is dialed and with which headers (the gateway or the origin), or why it is not. */
  upstream: (upgradeReq: IncomingMessage, route: WebSocketRoute | undefined) => WebSocketUpstreamChoice;
  agentFor: (url: string) => Agent;
  handshakeTimeoutMs: number;
  log: Logger;
}

/** What follows a client's handshake: a close with Edge's reason, or the relay to the opened upstream. */
type AfterHandshake =
  | { kind: 'close'; code: number; reason: string }
  /** `protocol`: the subprotocol the client is answered with ('' none). */
  | { kind: 'relay'; upstream: UpstreamWebSocket; protocol: string; messages?: WebSocketMessageInspector };

/** How a client's upgrade is answered. */
type Answer =
  | { kind: 'handshake'; then: AfterHandshake }
  /** Edge could not open the upstream: an HTTP error with Edge's message. */
  | { kind: 'error'; status: number; message: string }
  /** The upstream refused the upgrade: its answer, relayed. */
  | { kind: 'refused'; response: IncomingMessage; body: Buffer }
  /** The client left while the upstream was dialed. */
  | { kind: 'gone' };

/**
 * Answers a client's WebSocket handshake only once its upstream has answered (http-mitm-proxy's servers answer at
 * once and dial the upstream afterwards): `ws`'s asynchronous `verifyClient` holds the handshake, after `ws` checked
 * it, while the socket is decided by policy and the upstream opened. Then:
 * - the upstream opened: the client is answered with exactly the subprotocol the upstream chose (none when it
 *   chose none; when Edge withheld a credential subprotocol from the gateway and the gateway chose none, that one:
 *   websocket-route.ts). Answering first, with the first protocol offered, broke every client whose server picks
 *   another one (RFC 6455: the client fails the connection), so Edge closed those sockets with 1002;
 * - the upstream refused the upgrade (401, 403, 404, …): the client gets that HTTP answer, as without Edge;
 * - Edge could not reach it: a 502 (504 when it did not answer in time) saying so;
 * - the socket is refused or blocked by policy: the handshake is answered (with the first protocol offered, which
 *   the client accepts) and the socket closed with Edge's reason, as before: a browser shows a close reason, never
 *   the body of a refused upgrade.
 * The client cannot send before its handshake is answered, so every message it sends goes through the inspection
 * attached at its connection, to an upstream already open.
 */
export function answerWebSocketsWhenUpstreamAnswers(options: WebSocketHandshakeOptions): { install(servers: Array<WebSocketServer | undefined>): void } {
  const { proxy, log } = options;
  const afterHandshake = new WeakMap<IncomingMessage, AfterHandshake>();

  const answer = async (upgradeReq: IncomingMessage, WebSocketClass: typeof WebSocket): Promise<Answer> => {
    const refusal = options.refusal(upgradeReq);
    if (refusal) {
      log.warn('websocket refused', { reason: refusal.message, host: upgradeReq.headers.host });
      // Recorded like the HTTP request it would be; the refusal stands whether or not the record was written.
      await options.decide(upgradeReq, refusal)?.catch((err: unknown) => log.error('could not record a refused WebSocket', { error: (err as Error).message }));
      return { kind: 'handshake', then: { kind: 'close', code: 1008, reason: refusal.message } };
    }
    let verdict: WebSocketPolicyVerdict = { action: 'allow' };
    const decision = options.decide(upgradeReq);
    if (decision) {
      try {
        verdict = await decision;
      } catch (err) {
        log.error('websocket decision failed', { error: (err as Error).message });
        return { kind: 'handshake', then: { kind: 'close', code: 1011, reason: 'Bifrost Edge could not decide this WebSocket' } };
      }
      if (verdict.action === 'block') return { kind: 'handshake', then: { kind: 'close', code: 1008, reason: verdict.message } };
    }
    const { messages, upstream: report } = verdict;
    const route = verdict.action === 'allow' ? verdict.route : undefined;
    /** Tells policy what became of the upstream (the opening's record); false when that could not be written. */
    const tell = async (outcome: UpstreamOutcome): Promise<boolean> => {
      try {
        await report?.(outcome);
        return true;
      } catch (err) {
        log.error('could not record the WebSocket opening', { error: (err as Error).message });
        return false;
      }
    };
    let opened: { answer: Answer; outcome: UpstreamOutcome };
    try {
      opened = await openUpstream(upgradeReq, WebSocketClass, messages, route);
    } catch (err) {
      await tell({ kind: 'failed', status: 500, errorType: 'internal_error', message: (err as Error).message });
      throw err;
    }
    const recorded = await tell(opened.outcome);
    const { answer: result } = opened;
    if (result.kind !== 'handshake' || result.then.kind !== 'relay') return result;
    // An opened socket is relayed only once its opening is in the audit trail, and to a client still there.
    if (!recorded || upgradeReq.socket.destroyed) {
      result.then.upstream.close();
      if (upgradeReq.socket.destroyed) return { kind: 'gone' };
      return { kind: 'handshake', then: { kind: 'close', code: 1011, reason: 'Bifrost Edge could not record this WebSocket in its audit trail; try again' } };
    }
    return result;
  };

  /** Opens the upstream of an allowed upgrade: the client's answer, and what became of the upstream. */
  const openUpstream = async (upgradeReq: IncomingMessage, WebSocketClass: typeof WebSocket, messages: WebSocketMessageInspector | undefined, route: WebSocketRoute | undefined): Promise<{ answer: Answer; outcome: UpstreamOutcome }> => {
    const failed = (status: number, errorType: string, message: string) => ({
      answer: { kind: 'error', status, message } as const,
      outcome: { kind: 'failed', status, errorType, message } as const,
    });
    let target: WebSocketUpstreamChoice;
    try {
      target = options.upstream(upgradeReq, route);
    } catch (err) {
      log.warn('websocket upstream failed', { error: (err as Error).message });
      return failed(502, 'upstream_unreachable', 'Bifrost Edge could not work out the upstream WebSocket URL; check the origin override for this host');
    }
    if (target.kind === 'refuse') return failed(target.status, target.errorType, target.message);
    const { url } = target;
    const dial = await dialUpstreamWebSocket({
      WebSocketClass, url, agent: options.agentFor(url), headers: target.headers, handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
    if (dial.kind === 'failed') {
      // Without the query string, which may hold an API key (Gemini's `?key=`).
      log.warn('websocket upstream failed', { url: url.split('?')[0], via: target.via, error: dial.message });
      return failed(dial.status, dial.status === 504 ? 'upstream_timeout' : 'upstream_unreachable', dial.message);
    }
    if (dial.kind === 'refused') return { answer: dial, outcome: { kind: 'refused', status: dial.response.statusCode ?? 502 } };
    if (upgradeReq.socket.destroyed) {
      dial.upstream.close();
      return { answer: { kind: 'gone' }, outcome: { kind: 'client-gone' } };
    }
    const protocol = dial.upstream.protocol || (target.protocolWhenNoneChosen ?? '');
    return { answer: { kind: 'handshake', then: { kind: 'relay', upstream: dial.upstream, protocol, ...(messages ? { messages } : {}) } }, outcome: { kind: 'open' } };
  };

  const verifyClient = (server: WebSocketServer) => (info: { req: IncomingMessage }, done: (verified: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => {
    const upgradeReq = info.req;
    // A client that leaves after its upstream opened but before its connection: that upstream is closed too.
    upgradeReq.socket.once('close', () => {
      const then = afterHandshake.get(upgradeReq);
      afterHandshake.delete(upgradeReq);
      if (then?.kind === 'relay') then.upstream.close();
    });
    const WebSocketClass = server.options.WebSocket as typeof WebSocket;
    answer(upgradeReq, WebSocketClass).then((result) => {
      switch (result.kind) {
        case 'handshake':
          afterHandshake.set(upgradeReq, result.then);
          done(true);
          return;
        case 'error':
          done(false, result.status, `${result.message}\n`, { 'Content-Type': 'text/plain; charset=utf-8' });
          return;
        case 'refused':
          // Written here rather than through `done`, which takes its body as text: the upstream's is bytes. The
          // handshake is left unfinished: `ws` holds nothing else for it, and the socket closes.
          relayRefusal(upgradeReq.socket, result.response, result.body);
          return;
        case 'gone':
          return;
      }
    }).catch((err: unknown) => {
      log.error('websocket upgrade failed', { error: (err as Error).message });
      done(false, 500, 'Bifrost Edge failed while opening this WebSocket; try again\n', { 'Content-Type': 'text/plain; charset=utf-8' });
    });
  };

  /** `ws` asks only when the client offered protocols; a socket Edge closes at once gets the first (ws's default). */
  const handleProtocols = (offered: Set<string>, upgradeReq: IncomingMessage): string | false => {
    const then = afterHandshake.get(upgradeReq);
    if (then?.kind === 'relay') return then.protocol || false;
    return offered.values().next().value ?? false;
  };

  // A socket closed with Edge's reason has no upstream: what its client sends is not the library's to relay.
  dropFramesWithoutUpstream(proxy);
  relayWebSocketCloses(proxy);
  proxy.onWebSocketConnection((ctx) => {
    // The callback is not called: it would make the library dial an upstream of its own.
    const upgradeReq = (ctx.clientToProxyWebSocket as { upgradeReq?: IncomingMessage } | undefined)?.upgradeReq;
    const then = upgradeReq ? afterHandshake.get(upgradeReq) : undefined;
    if (upgradeReq) afterHandshake.delete(upgradeReq);
    if (!then) {
      closeClientWebSocket(ctx, 1011, 'Bifrost Edge lost track of this WebSocket before it was relayed; open it again');
      return;
    }
    if (then.kind === 'close') {
      closeClientWebSocket(ctx, then.code, then.reason);
      return;
    }
    if (then.messages) {
      inspectClientMessages(ctx, then.messages, log);
      explainTooBigMessages(ctx, then.messages, log);
    }
    then.upstream.attach(proxy, ctx);
    const client = ctx.clientToProxyWebSocket as unknown as WebSocket;
    const upstream = ctx.proxyToServerWebSocket as unknown as WebSocket;
    limitBufferedRelay(upstream, client);
    limitBufferedRelay(client, upstream);
    // http-mitm-proxy paused the client's socket until its upstream would open; it is open.
    (ctx.clientToProxyWebSocket as unknown as { _socket: { resume(): void } })._socket.resume();
  });

  return {
    install(servers) {
      for (const server of servers) {
        if (!server) continue;
        server.options.verifyClient = verifyClient(server);
        server.options.handleProtocols = handleProtocols;
      }
    },
  };
}

/**
 * Closes the client's WebSocket that has no upstream. http-mitm-proxy paused its socket until the upstream would
 * open, so the close handshake could not complete (the client waited 30 s): the socket resumes. Its own close
 * handler would then reach for the missing upstream socket and throw, so the context is marked closed first.
 */
function closeClientWebSocket(ctx: IWebSocketContext, code: number, reason: string): void {
  const ws = ctx.clientToProxyWebSocket as unknown as { close(code: number, reason: string): void; _socket?: { resume(): void } } | undefined;
  (ctx as { closedByServer?: boolean }).closedByServer = true;
  ws?.close(code, closeReason(reason));
  ws?._socket?.resume();
}

/**
 * Writes the upstream's refusal of an upgrade to the client (status, headers and the body read) and closes, by
 * the HTTP relay's rules: hop-by-hop headers (those the answer's Connection names, Proxy-Authenticate, …) go no
 * further (relayableHeaders), the framing is Edge's own, and a reason phrase or header value Node would refuse to
 * write (control characters) is not written: the standard phrase stands in for such a reason, as in the HTTP relay.
 */
function relayRefusal(socket: Duplex, response: IncomingMessage, body: Buffer): void {
  const status = response.statusCode ?? 502;
  const reason = relayableReason(response.statusMessage) ?? STATUS_CODES[status] ?? '';
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  const headers = relayableHeaders(response.headers);
  delete headers['content-length'];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of [value ?? []].flat()) {
      if (isWritableHeaderText(String(one))) lines.push(`${name}: ${String(one)}`);
    }
  }
  lines.push(`Content-Length: ${body.length}`, 'Connection: close', '', '');
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
}
