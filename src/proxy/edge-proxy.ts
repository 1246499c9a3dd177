import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import { probePort } from '../util/port-probe.js';
import { isNonCanonicalTarget } from '../providers/route-path.js';
import type { Duplex } from 'node:stream';
import { Proxy as MitmProxy } from 'http-mitm-proxy';
import type { WebSocketRoute, WebSocketUpstreamChoice } from '../gateway/websocket-route.js';
import type { Logger } from '../log.js';
import { hostOfHostHeader, parseConnectTarget, type HostPort } from './connect-target.js';
import type { Exchange } from './exchange.js';
import { clientHelloBytesMissing, serverNameOf } from './client-hello.js';
import { SniContexts } from './sni-contexts.js';
import { CONNECTION_ESTABLISHED, openBlindTunnel } from './tunnel.js';
import type { WebSocketRefusal } from './websocket-decision.js';
import { answerWebSocketsWhenUpstreamAnswers, type WebSocketPolicyVerdict } from './websocket-handshake.js';
import { upstreamUrlOf } from './websocket-upstream.js';

/**
 * How long a client's idle keep-alive connection to Edge stays open (Node's default is 5 s). AI tools
 * send a request every few seconds to minutes; at 5 s nearly every one paid a new CONNECT and TLS
 * handshake with Edge before it could start. Clients learn it from the Keep-Alive header Node sends
 * (undici keeps a connection until just before the server's timeout). Idle loopback sockets cost
 * Edge a few kilobytes each and no CPU.
 */
const CLIENT_IDLE_KEEP_ALIVE_MS = 120_000;

/** Our cached leaf certificates (one shared key, signed by the device CA), as TLS contexts per host. */
export interface LeafCertificateSource {
  getSecureContext(hostname: string): tls.SecureContext;
}

export interface EdgeProxyOptions {
  host: string;
  port: number;
  /** Folder holding the CA in http-mitm-proxy's layout, so it loads ours instead of generating one. */
  mitmCaDir: string;
  certificates: LeafCertificateSource;
  /** Read per CONNECT so a new intercept list from policy applies to the next connection. */
  shouldIntercept: (host: string) => boolean;
  /**
   * Policy at tunnel time: refuses a tunnel the app catalog denies outright and records AI hosts
   * that are only tunnelled (shadow AI). Refusal text goes back in the CONNECT answer.
   */
  checkConnect?: (input: { host: string; userAgent?: string; intercepted: boolean }) => { action: 'allow' } | { action: 'block'; error: { status: number; message: string } };
  handleExchange: (exchange: Exchange) => void;
  /**
   * Where the upstream WebSocket of an upgrade on an intercepted host goes: given the origin's URL (the tunnel's
   * host and port, the path), the client's headers and the route policy chose, the gateway or the origin (with its
   * override), or why it is not dialed. Without it, the origin's URL with the client's headers.
   */
  webSocketUpstream?: (input: { url: string; tunnel: HostPort; tls: boolean; path: string; headers: http.IncomingHttpHeaders; route?: WebSocketRoute }) => WebSocketUpstreamChoice;
  /** Extra CAs trusted when dialing upstream WebSockets. */
  extraCaPems?: string[];
  connectTimeoutMs: number;
  /**
   * Policy for a WebSocket opened on an intercepted host (the OpenAI Realtime API, Gemini Live): the app, key,
   * provider and model are decided and the opening is recorded; `messages`, when given, decides every client
   * message before it is relayed. Given `refused`, an upgrade Edge refused is recorded.
   */
  decideWebSocket?: (input: { host: string; path: string; headers: http.IncomingHttpHeaders; refused?: WebSocketRefusal }) => Promise<WebSocketPolicyVerdict>;
  /** The largest client WebSocket message `ws` reads whole (the request body limit); larger ones close the socket. */
  maxWebSocketMessageBytes?: number;
  /** How long an intercepted tunnel may stay silent after "200 Connection Established". Default 30 s. */
  tunnelFirstBytesTimeoutMs?: number;
  log: Logger;
}

export interface RunningProxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Loopback MITM proxy built on http-mitm-proxy. Edge decides every CONNECT itself: AI hosts are
 * decrypted in-process with our own leaf certificates (one shared key, cached; the library's
 * per-host keygen and certificate files are never used), everything else is relayed by a blind
 * tunnel and never decrypted. Decrypted requests are handed to `handleExchange` instead of
 * http-mitm-proxy's forwarder, which forces chunked encoding and has no backpressure.
 */
export async function startEdgeProxy(options: EdgeProxyOptions): Promise<RunningProxy> {
  // http-mitm-proxy never calls back when its listen fails, so a taken port would hang the start.
  await assertPortFree(options.host, options.port);
  const proxy = new MitmProxy();
  const liveSockets = new Set<Duplex | net.Socket>();
  const track = (socket: Duplex | net.Socket) => {
    liveSockets.add(socket);
    socket.once('close', () => liveSockets.delete(socket));
  };

  proxy.onError((ctx, err, kind) => {
    // Client resets and aborted handshakes are routine for a proxy; keep them at debug level.
    options.log.debug('proxy error', { kind, error: err?.message, host: ctx?.clientToProxyRequest?.headers.host });
  });

  proxy.onConnect((req, socket, head: Buffer) => {
    track(socket);
    const target = parseConnectTarget(req.url);
    if (!target) {
      const body = `Bifrost Edge could not parse the CONNECT target ${JSON.stringify(String(req.url).slice(0, 200))}; expected host:port.\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const intercepted = options.shouldIntercept(target.host);
    const userAgent = req.headers['user-agent'];
    const verdict = options.checkConnect?.({ host: target.host, ...(userAgent ? { userAgent } : {}), intercepted });
    if (verdict?.action === 'block') {
      const body = `${verdict.error.message}\n`;
      socket.end(`HTTP/1.1 ${verdict.error.status} Blocked by Bifrost Edge\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    if (!intercepted && net.isIP(target.host) !== 0) {
      // An IP address says nothing about the host: the ClientHello names it. A client reaching an AI
      // host by address (resolving names itself, or told to) is intercepted as that host.
      readClientHello(socket as net.Socket, head ?? Buffer.alloc(0), (first, serverName) => {
        if (serverName !== undefined && options.shouldIntercept(serverName)) {
          const named = options.checkConnect?.({ host: serverName, ...(userAgent ? { userAgent } : {}), intercepted: true });
          if (named?.action === 'block') {
            socket.destroy();
            return;
          }
          options.log.info('tunnel to an address carries an AI host; intercepting it', { address: target.host, host: serverName });
          dispatchIntercepted(socket as net.Socket, first, { host: serverName, port: target.port });
          return;
        }
        openBlindTunnel(socket, first, target.host, target.port, { connectTimeoutMs: options.connectTimeoutMs, log: options.log, track, alreadyAnswered: true });
      });
      return;
    }
    if (!intercepted) {
      openBlindTunnel(socket, head ?? Buffer.alloc(0), target.host, target.port, { connectTimeoutMs: options.connectTimeoutMs, log: options.log, track });
      return;
    }
    interceptTunnel(socket as net.Socket, head ?? Buffer.alloc(0), target);
  });

  /**
   * Terminates TLS for an intercepted CONNECT inside this process: the tunnel socket is handed
   * straight to http-mitm-proxy's SNI server instead of being piped over a second loopback TCP
   * connection (its default), which cost a hop, two pipes and Nagle delays on every request.
   */
  const connectTargets = new WeakMap<object, HostPort>();
  let sniContexts: SniContexts | undefined;
  /** Hands a tunnel whose first bytes were read to the TLS server (or, for plain HTTP, the HTTP server). */
  const dispatchIntercepted = (socket: net.Socket, first: Buffer, target: HostPort) => {
    socket.unshift(first);
    connectTargets.set(socket, target);
    // A TLS record starts with 0x16 (handshake); anything else is plain HTTP sent through the tunnel.
    if (first[0] === 0x16) {
      try {
        ensureSniContext(target.host);
      } catch (err) {
        options.log.warn('no certificate for intercepted host', { host: target.host, error: (err as Error).message });
        socket.destroy();
        return;
      }
      proxy.httpsServer!.emit('connection', socket);
    } else {
      proxy.httpServer!.emit('connection', socket);
      // A TLS socket reads its transport itself; the HTTP server only listens for 'data', and a socket
      // paused on purpose (below) would never deliver any: plain HTTP in a tunnel hung.
      socket.resume();
    }
  };
  const interceptTunnel = (socket: net.Socket, head: Buffer, target: HostPort) => {
    socket.setNoDelay(true);
    socket.write(CONNECTION_ESTABLISHED);
    const dispatch = (first: Buffer) => dispatchIntercepted(socket, first, target);
    if (head.length > 0) {
      dispatch(head);
    } else {
      // A tunnel that never says anything would hold its socket forever (any local process could pin
      // descriptors this way); once the first bytes arrive, the TLS and HTTP servers' own timeouts apply.
      socket.setTimeout(options.tunnelFirstBytesTimeoutMs ?? 30_000, () => socket.destroy());
      socket.once('data', (first: Buffer) => {
        socket.setTimeout(0);
        // Hand the socket over paused; the TLS or HTTP server takes over reading from here.
        socket.pause();
        dispatch(first);
      });
      // The HTTP server leaves a CONNECT socket paused; read the first bytes ourselves.
      socket.resume();
    }
  };
  const ensureSniContext = (host: string) => {
    sniContexts ??= new SniContexts(proxy.httpsServer!, (name) => options.certificates.getSecureContext(name));
    sniContexts.ensure(host);
  };
  /** The CONNECT target of the tunnel a request arrived on (TLS sockets wrap the tunnel socket as `_parent`). */
  const tunnelTargetOf = (socket: net.Socket): HostPort | undefined => {
    const parent = (socket as unknown as { _parent?: object })._parent;
    return connectTargets.get(socket) ?? (parent ? connectTargets.get(parent) : undefined);
  };

  /**
   * Every request, decrypted or plain, goes straight to `handleExchange`: Edge forwards it itself, so
   * http-mitm-proxy's per-request machinery (a context with a dozen handler lists, a UUID, an async
   * handler chain, a header copy) would be pure cost — about 10 % of the CPU a small request takes.
   * The library keeps CONNECT, TLS contexts and WebSocket upgrades.
   */
  const onRequest = (tls: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Clients that reset mid-request are routine for a proxy: note it, never crash on an unhandled 'error'.
    req.on('error', (err) => options.log.debug('client request error', { error: err.message }));
    res.on('error', (err) => options.log.debug('client response error', { error: err.message }));
    const connectTarget = tunnelTargetOf(req.socket);
    const exchange: Exchange = {
      id: randomUUID(),
      req,
      res,
      tls,
      startedAt: Date.now(),
      ...(connectTarget ? { connectTarget } : {}),
    };
    req.socket.setNoDelay(true);
    options.handleExchange(exchange);
  };
  const takeRequests = (server: http.Server | https.Server | undefined, tls: boolean) => {
    if (!server) return;
    server.keepAliveTimeout = CLIENT_IDLE_KEEP_ALIVE_MS;
    // No bound on a whole request (Node's default cuts one off with 408 after 300 s): a large upload on a slow
    // link takes longer. An upload that stops arriving is ended by the upload reader's idle bound instead
    // (form-upload.ts); the bound on receiving the head (headersTimeout) stays.
    server.requestTimeout = 0;
    server.removeAllListeners('request');
    server.on('request', onRequest(tls));
  };

  const wssAgent = new https.Agent({ keepAlive: true, ...(options.extraCaPems?.length ? { ca: [...tls.rootCertificates, ...options.extraCaPems] } : {}) });
  const wsAgent = new http.Agent({ keepAlive: true });
  // The client's handshake is answered once policy decided and the upstream answered (websocket-handshake.ts).
  const webSockets = answerWebSocketsWhenUpstreamAnswers({
    proxy,
    refusal: (upgradeReq) => webSocketRefusal(upgradeReq, tunnelTargetOf(upgradeReq.socket)),
    decide: (upgradeReq, refused) => {
      // Outside a tunnel (refused) there is no governed host to decide or record it for.
      const host = tunnelTargetOf(upgradeReq.socket)?.host;
      if (host === undefined || !options.decideWebSocket || !options.shouldIntercept(host)) return undefined;
      return options.decideWebSocket({ host, path: upgradeReq.url ?? '/', headers: upgradeReq.headers, ...(refused ? { refused } : {}) });
    },
    upstream: (upgradeReq, route) => {
      const tunnel = tunnelTargetOf(upgradeReq.socket);
      // Unreachable: an upgrade outside a tunnel is refused before its upstream is looked for.
      if (!tunnel) throw new Error('the WebSocket did not arrive in a CONNECT tunnel');
      const url = upstreamUrlOf(upgradeReq, tunnel);
      const encrypted = (upgradeReq.socket as tls.TLSSocket).encrypted === true;
      return options.webSocketUpstream?.({ url, tunnel, tls: encrypted, path: upgradeReq.url ?? '/', headers: upgradeReq.headers, ...(route ? { route } : {}) })
        ?? { kind: 'dial', via: 'origin', url, headers: upgradeReq.headers };
    },
    // The library picks the agent from how the client arrived; the upstream scheme may differ after a rewrite.
    agentFor: (url) => (url.startsWith('wss:') ? wssAgent : wsAgent),
    handshakeTimeoutMs: options.connectTimeoutMs,
    log: options.log,
  });

  return new Promise((resolve, reject) => {
    proxy.listen({ host: options.host, port: options.port, sslCaDir: options.mitmCaDir, forceSNI: true, keepAlive: true }, (err) => {
      if (err) {
        reject(err);
        return;
      }
      takeRequests(proxy.httpServer, false);
      takeRequests(proxy.httpsServer, true);
      limitWebSocketMessages(proxy, options.maxWebSocketMessageBytes);
      webSockets.install([proxy.wsServer, proxy.wssServer]);
      const port = proxy.httpPort;
      const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        port,
        url: `http://${hostForUrl}:${port}`,
        close: () => closeProxy(proxy, liveSockets),
      });
    });
  });
}

/** Fails fast, with a message a person can act on, when the proxy port is taken (the code is kept). */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const problem = await probePort(host, port);
  if (!problem) return;
  const message = problem.code === 'EADDRINUSE'
    ? `port ${port} on ${host} is already in use: is another Bifrost Edge running? Stop it, or pick another port with --port.`
    : `cannot listen on ${host}:${port} (${problem.code ?? problem.message})`;
  throw Object.assign(new Error(message), { code: problem.code });
}

async function closeProxy(proxy: MitmProxy, liveSockets: Set<Duplex | net.Socket>): Promise<void> {
  const servers = [proxy.httpServer, proxy.httpsServer].filter((s) => s !== undefined);
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  for (const server of servers) server.closeAllConnections();
  for (const socket of liveSockets) socket.destroy();
  proxy.wsServer?.close();
  proxy.wssServer?.close();
  // http-mitm-proxy's close() also forgets per-host servers; ours are all SNI contexts on one server.
  proxy.httpServer = undefined;
  proxy.httpsServer = undefined;
  await Promise.all(closed);
}

/**
 * WebSockets reach the MITM servers only on intercepted (AI) hosts. `ws` reads each message whole before it is
 * handed on (100 MiB by default): it stops at the request body limit instead, as a request body stops there.
 * Its servers read `options.maxPayload` at each upgrade, so setting it once after they exist is enough.
 */
function limitWebSocketMessages(proxy: MitmProxy, maxBytes: number | undefined): void {
  if (maxBytes === undefined) return;
  for (const server of [proxy.wsServer, proxy.wssServer]) {
    if (server) server.options.maxPayload = maxBytes;
  }
}

/**
 * Why a WebSocket upgrade must not be relayed, or undefined. http-mitm-proxy dials the upstream named
 * by the Host header. Outside a CONNECT tunnel that is whatever a client names, including the proxy
 * itself: any web page could open ws://127.0.0.1:<port>/ and make Edge connect to itself without end
 * until it ran out of file descriptors. Inside a tunnel the Host must name the tunnel's host, as for
 * requests, and the request target must be a path, or a governed tunnel could carry a WebSocket to another server.
 */
export function webSocketRefusal(upgradeReq: http.IncomingMessage | undefined, tunnelTarget: HostPort | undefined): WebSocketRefusal | undefined {
  if (!upgradeReq) return { status: 400, errorType: 'invalid_request', message: 'the upgrade request is unknown' };
  if (!tunnelTarget) return { status: 400, errorType: 'invalid_target', message: 'Bifrost Edge relays WebSockets only through a CONNECT tunnel' };
  // A whole URL as the request target (`GET ws://other.example/ HTTP/1.1`) would be dialed as it is, whatever the Host.
  if (!upgradeReq.url?.startsWith('/')) return { status: 400, errorType: 'invalid_target', message: 'Bifrost Edge relays a WebSocket upgrade only for a path on the tunnel\'s host; send the path, not a whole URL' };
  // The upstream is dialed on the URL parser's form of the path (`/v1/./realtime` becomes `/v1/realtime`), while
  // the API is decided on the path as written: refused like an HTTP request with such a path (registry.ts).
  if (isNonCanonicalTarget(upgradeReq.url)) return { status: 400, errorType: 'invalid_request', message: 'Bifrost Edge: the path is not in canonical form (dot or empty segments, encoded slashes or dots); send the plain path' };
  const host = hostOfHostHeader(String(upgradeReq.headers.host ?? ''));
  // The status and type an HTTP request with that Host gets (request-handler.ts).
  if (host !== tunnelTarget.host) return { status: 421, errorType: 'host_mismatch', message: `the Host header does not name the tunnel's host ${tunnelTarget.host}` };
  return undefined;
}

/** The largest first TLS record Edge waits for (a TLS record's own limit, plus its header). */
const MAX_FIRST_RECORD_BYTES = 16 * 1024 + 5;

/**
 * How long a tunnel to an address may take to start speaking. A TLS client sends its ClientHello at once;
 * a protocol where the server speaks first (SSH, SMTP) sends nothing, and its tunnel opens after this.
 */
const CLIENT_FIRST_WAIT_MS = 500;

/**
 * Answers the CONNECT, then reads the client's first TLS record and hands it over with the server name
 * it carries (undefined when it is not TLS, names none, or the client waited for the server). The socket
 * is left paused with nothing consumed beyond what is handed over.
 */
function readClientHello(socket: net.Socket, head: Buffer, then: (first: Buffer, serverName: string | undefined) => void): void {
  socket.setNoDelay(true);
  socket.write(CONNECTION_ESTABLISHED);
  let received = head;
  let done = false;
  const complete = () => clientHelloBytesMissing(received) <= 0 || received.length >= MAX_FIRST_RECORD_BYTES;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
    then(received, clientHelloBytesMissing(received) === 0 ? serverNameOf(received) : undefined);
  };
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    if (complete()) finish();
  };
  const timer = setTimeout(finish, CLIENT_FIRST_WAIT_MS);
  if (head.length > 0 && complete()) {
    finish();
    return;
  }
  socket.on('data', onData);
  socket.resume();
}
