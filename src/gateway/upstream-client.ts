import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type net from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { edgeError, type EdgeError } from '../edge-error.js';
import { relayableHeaders, relayableReason, type UpstreamPlan } from './upstream-plan.js';
import { header } from '../util/header.js';
import { formatSeconds } from '../util/format-seconds.js';

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  /** How long to wait for the answer's head. */
  responseTimeoutMs: number;
  /**
   * How long an answer's body may stay silent between two chunks before the exchange is ended as
   * upstream_timeout. Default 10 minutes: a streamed answer can pause that long while a model reasons.
   */
  bodyIdleTimeoutMs?: number;
  /**
   * How long a kept-alive connection may sit unused before Edge closes it. Shorter than the idle
   * timeouts of common servers and load balancers, so Edge drops it first: reusing one the server is
   * closing fails a POST with a reset, and a proxy must not send a POST again. Default 4 s.
   */
  freeSocketTimeoutMs?: number;
  /** Extra CA certificates (PEM) trusted for upstream TLS, on top of the system roots. */
  extraCaPems?: string[];
}

export interface ForwardHandlers {
  /** The request failed before any response byte reached the client: answer in the provider's format. */
  onFailure(error: EdgeError): void;
  /** Upstream answered; headers are about to be relayed. */
  onResponse?(response: http.IncomingMessage): void;
  /**
   * The upstream body has been relayed; the client's response is ended only once this settles, so
   * whatever must be durable about an answered request (its audit record) is, before it is answered.
   * Rejecting cuts the client off instead: the held end of the answer is never sent.
   */
  beforeEnd?(status: number | undefined): Promise<void>;
  /**
   * The exchange ended (completed, failed or aborted by the client). `requestSent`: the whole request,
   * body included, was handed to the operating system for the upstream; a client that gave up before
   * that cost the provider nothing.
   */
  onDone?(outcome: { status?: number; error?: EdgeError; aborted?: boolean; requestSent?: boolean }): void;
  /**
   * A stream the answer's body goes through to the client, or undefined to relay it as it is. It reads
   * the body as it came (per its Content-Encoding) and writes it plain; its length may change, so it goes
   * out chunked.
   */
  transformBody?(response: http.IncomingMessage): Transform | undefined;
}

/**
 * Sends a planned request upstream and relays the answer chunk by chunk with backpressure
 * (`pipe`), so SSE events reach the client as they are produced and nothing is buffered.
 */
export class UpstreamClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: UpstreamClientOptions) {
    // Node applies `timeout` to free sockets (and to a shorter Keep-Alive hint from the server); on a
    // socket in use it only emits 'timeout', which nothing here listens to (the client's timers rule).
    const timeout = options.freeSocketTimeoutMs ?? DEFAULT_FREE_SOCKET_TIMEOUT_MS;
    this.httpAgent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, timeout });
    // Extra CAs go in one prebuilt secure context, not the agent's `ca` option: the agent folds `ca`
    // into its per-request pool key, and stringifying ~150 root certificates cost 16 % of CPU per request.
    const secureContext = options.extraCaPems && options.extraCaPems.length > 0
      ? tls.createSecureContext({ ca: [...tls.rootCertificates, ...options.extraCaPems] })
      : undefined;
    this.httpsAgent = new https.Agent({ keepAlive: true, maxFreeSockets: 64, timeout, ...(secureContext ? { secureContext } : {}) });
    // Node lets a server's Keep-Alive hint only shorten `timeout`. A server that announces how long it
    // keeps idle connections is taken at its word, less a second (as undici does): reconnecting after
    // every pause of a few seconds would cost a TLS handshake at the start of each burst. Listeners run
    // after the agent's own, which has just set the default.
    for (const agent of [this.httpAgent, this.httpsAgent]) {
      agent.on('free', (socket: net.Socket) => {
        const announced = announcedIdleMs.get(socket);
        if (announced !== undefined && announced > timeout && !socket.destroyed) socket.setTimeout(announced);
      });
    }
  }

  forward(plan: UpstreamPlan, method: string, body: Buffer | Readable | null, clientRes: http.ServerResponse, handlers: ForwardHandlers): void {
    this.send(plan, method, body, clientRes, handlers, true);
  }

  private send(plan: UpstreamPlan, method: string, body: Buffer | Readable | null, clientRes: http.ServerResponse, handlers: ForwardHandlers, mayRetry: boolean): void {
    const isHttps = plan.url.protocol === 'https:';
    const headers = { ...plan.headers };
    if (Buffer.isBuffer(body)) {
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
    } else if (body !== null && headers['content-length'] === undefined) {
      // Node chunks a streamed body by itself only for methods that usually carry one: a GET, DELETE
      // or OPTIONS body would go out unframed, and its bytes would read upstream as a next request.
      headers['transfer-encoding'] = 'chunked';
    }
    const request = (isHttps ? https : http).request(plan.url, {
      method,
      headers,
      agent: isHttps ? this.httpsAgent : this.httpAgent,
    });
    let finished = false;
    let requestSent = false;
    request.once('finish', () => { requestSent = true; });
    const finish = (outcome: { status?: number; error?: EdgeError; aborted?: boolean }) => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      handlers.onDone?.({ ...outcome, requestSent });
    };
    const fail = (error: EdgeError) => {
      request.destroy();
      if (!clientRes.headersSent) handlers.onFailure(error);
      else clientRes.destroy();
      finish({ error });
    };
    const target = describeTarget(plan);

    const connectTimer = setTimeout(() => {
      fail(edgeError(502, 'upstream_unreachable', `Bifrost Edge could not connect to ${target} within ${this.options.connectTimeoutMs} ms. Check your network connection; if it persists, the ${plan.via === 'origin' ? 'provider' : 'gateway'} may be down.`));
    }, this.options.connectTimeoutMs);
    const responseTimer = setTimeout(() => {
      fail(edgeError(504, 'upstream_timeout', `${target} did not answer within ${Math.round(this.options.responseTimeoutMs / 1000)} s. Try again; long-running requests may need a higher gateway.responseTimeoutMs.`));
    }, this.options.responseTimeoutMs);

    request.once('socket', (socket) => {
      socket.setNoDelay(true);
      const connected = () => clearTimeout(connectTimer);
      if ((socket as { connecting?: boolean }).connecting) socket.once(isHttps ? 'secureConnect' : 'connect', connected);
      else connected();
    });
    let upstreamResponse: http.IncomingMessage | undefined;
    request.on('error', (err: NodeJS.ErrnoException) => {
      if (finished) return;
      if (upstreamResponse) {
        // The answer has begun: a complete one stays (it may be held for the record), a cut one is
        // handled by the response's own 'error'. The request is never sent again once answered.
        if (!upstreamResponse.complete) {
          clientRes.destroy();
          finish({ status: upstreamResponse.statusCode, aborted: true });
        }
        return;
      }
      // A kept-alive socket the upstream closed meanwhile fails at once with a reset (Node's documented
      // race): sent again, once, fresh, but only when sending it twice is harmless. A reset cannot tell
      // "never arrived" from "arrived, then the upstream died", and a proxy must not repeat a POST (RFC
      // 9110 §9.2.2): that one fails, and the client's own retry logic decides.
      if (mayRetry && request.reusedSocket && IDEMPOTENT_METHODS.has(method) && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && (body === null || Buffer.isBuffer(body))) {
        finished = true;
        clearTimeout(connectTimer);
        clearTimeout(responseTimer);
        clientRes.off('close', onClientClose);
        this.send(plan, method, body, clientRes, handlers, false);
        return;
      }
      fail(describeNetworkError(err, target, plan.via));
    });
    request.once('response', (response) => {
      upstreamResponse = response;
      const idleMs = keepAliveIdleMs(header(response.headers['keep-alive']));
      if (idleMs !== undefined) announcedIdleMs.set(response.socket, idleMs);
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      try {
        this.relay(response, clientRes, handlers, finish, target);
      } catch (err) {
        // Whatever the upstream sent that Node refuses to write (or a handler's bug) fails this exchange, not the agent.
        response.destroy();
        fail(edgeError(502, 'upstream_invalid_response', `${target} sent an answer Bifrost Edge cannot relay (${(err as Error).message}).`));
      }
    });
    // The client went away: stop the upstream work too instead of paying for tokens nobody reads.
    const onClientClose = () => {
      if (!clientRes.writableFinished) {
        request.destroy();
        finish({ aborted: true });
      }
    };
    clientRes.once('close', onClientClose);

    if (body === null) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      // pipe() neither ends nor destroys the request when its source fails (a spooled upload's file cannot be
      // read): the upstream would wait for the rest until the response timeout. Ended at once, and said why.
      body.once('error', (err) => {
        if (finished) return;
        fail(edgeError(502, 'request_body_unreadable', `Bifrost Edge could not read the request body it was sending to ${target} (${err.message}), so it ended the request. Send it again.`));
      });
      body.pipe(request);
    }
  }

  /** Relays an answer's head and body to the client (see ForwardHandlers for the hooks). */
  private relay(response: http.IncomingMessage, clientRes: http.ServerResponse, handlers: ForwardHandlers, finish: (outcome: { status?: number; error?: EdgeError; aborted?: boolean }) => void, target: string): void {
    handlers.onResponse?.(response);
    if (clientRes.destroyed) {
      response.destroy();
      finish({ aborted: true });
      return;
    }
    const transform = handlers.transformBody?.(response);
    const headers = relayableHeaders(response.headers);
    if (transform) {
      delete headers['content-length'];
      delete headers['content-encoding'];
    }
    clientRes.writeHead(response.statusCode ?? 502, relayableReason(response.statusMessage), headers);
    // A streamed answer shows its headers at once; a sized one sends headers and body in one write.
    if (response.headers['content-length'] === undefined || transform) clientRes.flushHeaders();
    // A transformed body goes out chunked: complete for the client only at the terminator end() writes.
    const held = transform ? relayTransformed(response, transform, clientRes) : relayBody(response, clientRes, handlers.beforeEnd !== undefined);
    (transform ?? response).once('end', () => {
      void Promise.resolve(handlers.beforeEnd?.(response.statusCode)).then(() => {
        clientRes.end(held());
        finish({ status: response.statusCode });
      }, () => {
        // Refused at the last moment (the record could not be written): the held end never goes out.
        clientRes.destroy();
        finish({ status: response.statusCode, aborted: true });
      });
    });
    response.once('error', () => {
      clientRes.destroy();
      finish({ status: response.statusCode, aborted: true });
    });
    this.endWhenSilent(response, clientRes, finish, target);
  }

  /**
   * Ends an answer whose body stops arriving (an upstream that stalls after its head would otherwise
   * hold the client, and the exchange, forever). Only the upstream's silence counts: while the relay
   * waits for a slow client (the answer is paused), the clock starts over.
   */
  private endWhenSilent(response: http.IncomingMessage, clientRes: http.ServerResponse, finish: (outcome: { status?: number; error?: EdgeError }) => void, target: string): void {
    const idleMs = this.options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const stalled = () => {
      if (response.isPaused()) {
        arm();
        return;
      }
      response.destroy();
      clientRes.destroy();
      finish({
        status: response.statusCode,
        error: edgeError(504, 'upstream_timeout', `${target} stopped sending its answer for ${formatSeconds(idleMs)}, so Bifrost Edge ended it. Try again; answers that pause longer need a higher gateway.bodyIdleTimeoutMs.`),
      });
    };
    // Restarted on every chunk: refresh() reschedules the one timer instead of making a new one.
    const arm = () => {
      if (timer) timer.refresh();
      else timer = setTimeout(stalled, idleMs);
    };
    const disarm = () => clearTimeout(timer);
    response.on('data', arm);
    response.once('end', disarm);
    response.once('close', disarm);
    arm();
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

const DEFAULT_BODY_IDLE_TIMEOUT_MS = 600_000;

/** How long each upstream connection's server said it keeps it idle (its Keep-Alive hint, less a second). */
const announcedIdleMs = new WeakMap<net.Socket, number>();

/** `Keep-Alive: timeout=120, max=1000` → 119,000 ms; undefined without a usable timeout. */
export function keepAliveIdleMs(value: string | undefined): number | undefined {
  const seconds = value === undefined ? undefined : /(?:^|[,\s])timeout=(\d+)/i.exec(value)?.[1];
  if (seconds === undefined) return undefined;
  const ms = Number(seconds) * 1000 - 1000;
  return ms > 0 ? ms : undefined;
}
const DEFAULT_FREE_SOCKET_TIMEOUT_MS = 4000;

/** Methods a proxy may send again after a reset (RFC 9110 §9.2.2): doing so twice changes nothing. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);


/** Sized answers up to this are held whole and sent with their headers in one write. */
const WHOLE_BODY_LIMIT = 64 * 1024;

/**
 * Relays the body with backpressure. With `holdBack`, the client cannot see a complete answer before
 * `beforeEnd` settles: a small sized body is held whole (returned by the getter and sent with the
 * headers in one write, one TLS record instead of two), a larger one keeps back only its final byte;
 * a chunked body is complete for the client only at its terminator, which end() writes anyway.
 */
function relayBody(response: http.IncomingMessage, clientRes: http.ServerResponse, holdBack: boolean): () => Buffer | undefined {
  const declared = Number(response.headers['content-length']);
  if (!holdBack || !Number.isFinite(declared) || declared <= 0) {
    response.pipe(clientRes, { end: false });
    return () => undefined;
  }
  if (declared <= WHOLE_BODY_LIMIT) {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    return () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }
  let received = 0;
  let last: Buffer | undefined;
  response.on('data', (chunk: Buffer) => {
    received += chunk.length;
    let out = chunk;
    if (received >= declared && chunk.length > 0) {
      last = chunk.subarray(chunk.length - 1);
      out = chunk.subarray(0, chunk.length - 1);
    }
    if (out.length > 0 && !clientRes.write(out)) {
      response.pause();
      clientRes.once('drain', () => response.resume());
    }
  });
  return () => last;
}

/** Relays the body through `transform` with backpressure; nothing is held back (see relayBody). */
function relayTransformed(response: http.IncomingMessage, transform: Transform, clientRes: http.ServerResponse): () => undefined {
  transform.once('error', () => {
    response.destroy();
    clientRes.destroy();
  });
  response.pipe(transform).pipe(clientRes, { end: false });
  return () => undefined;
}

function describeTarget(plan: UpstreamPlan): string {
  const who = plan.via === 'origin' ? 'the provider' : 'the Bifrost gateway';
  return `${who} at ${plan.url.origin}`;
}

function describeNetworkError(err: NodeJS.ErrnoException, target: string, via: UpstreamPlan['via']): EdgeError {
  const code = err.code ?? '';
  const who = via === 'origin' ? 'provider' : 'gateway';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code) || /certificate/i.test(err.message)) {
    return edgeError(502, 'upstream_tls_error', `Bifrost Edge refused the TLS certificate of ${target} (${code || err.message}). If your ${who} uses a private CA, set its PEM file in the configuration (gateway.caFile or upstream.caFile).`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return edgeError(502, 'upstream_unreachable', `The connection to ${target} was reset (${code}). Try again; if it persists, the ${who} may be overloaded.`);
  }
  return edgeError(502, 'upstream_unreachable', `Bifrost Edge could not reach ${target} (${code || err.message}). Check your network connection; if it persists, the ${who} may be down.`);
}
