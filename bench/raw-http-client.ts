/**
 * The latency rows' load generator: one keep-alive HTTP/1.1 connection over TLS, direct or through a
 * CONNECT proxy, sending a request built once and reading each answer by its framing, as wrk does.
 *
 * Why not undici here: on this 2-core machine the generator shares the cores with the origin and the
 * proxy under test. undici spent about as much CPU per request as Edge itself (300-500 µs through a
 * ProxyAgent), so the generator's own work and pauses were a large share of every tail it measured.
 * This client does one write and one or two reads per request.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawTarget {
  /** Where the TCP connection goes: the origin itself, or the proxy that is asked to CONNECT. */
  connectHost: string;
  connectPort: number;
  /** The origin the request is for: TLS server name, Host header and CONNECT target (port 443 unless given). */
  host: string;
  port?: number;
  /** Set when connecting through an HTTP proxy with CONNECT. */
  viaProxy?: boolean;
  /** CA that signs the certificate the client will see (the origin's, or the proxy's own). */
  ca: string;
}

export interface RawResponse {
  status: number;
  body: Buffer;
}

/** Builds the bytes of one HTTP/1.1 request once; the client writes them as they are. */
export function buildRequest(method: string, host: string, path: string, headers: Record<string, string>, body = ''): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Parses one response out of the bytes received so far. Returns undefined until it is complete, else
 * the response and how many bytes it used (the rest belongs to the next one). Content-Length and
 * chunked bodies; anything else is an error, since keep-alive needs a framed answer.
 */
export function parseResponse(data: Buffer): { response: RawResponse; used: number } | undefined {
  const headEnd = data.indexOf(HEADER_END);
  if (headEnd < 0) return undefined;
  const head = data.subarray(0, headEnd).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 80))}`);
  const bodyStart = headEnd + HEADER_END.length;
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    return data.length < end ? undefined : { response: { status, body: data.subarray(bodyStart, end) }, used: end };
  }
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return parseChunked(data, bodyStart, status);
  if (status === 204 || status === 304) return { response: { status, body: Buffer.alloc(0) }, used: bodyStart };
  throw new Error(`response ${status} has neither Content-Length nor chunked framing`);
}

function parseChunked(data: Buffer, from: number, status: number): { response: RawResponse; used: number } | undefined {
  const pieces: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size line');
    const chunkStart = lineEnd + 2;
    if (size === 0) {
      // No trailers are expected: the last chunk is followed by an empty line.
      const end = data.indexOf(HEADER_END.subarray(2), chunkStart);
      return end < 0 ? undefined : { response: { status, body: Buffer.concat(pieces) }, used: end + 2 };
    }
    if (data.length < chunkStart + size + 2) return undefined;
    pieces.push(data.subarray(chunkStart, chunkStart + size));
    at = chunkStart + size + 2;
  }
}

/** One keep-alive connection; one request at a time. Reopens by itself if the server closed it. */
export class RawConnection {
  private socket: tls.TLSSocket | undefined;
  private pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;
  private received: Buffer = Buffer.alloc(0);

  constructor(private readonly target: RawTarget) {}

  async send(request: Buffer): Promise<RawResponse> {
    if (this.pending) throw new Error('RawConnection sends one request at a time');
    const socket = this.socket && !this.socket.destroyed ? this.socket : await this.open();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private async open(): Promise<tls.TLSSocket> {
    const { target } = this;
    const originPort = target.port ?? 443;
    const raw = target.viaProxy ? await connectTunnel(target.connectHost, target.connectPort, `${target.host}:${originPort}`) : undefined;
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        ...(raw ? { socket: raw } : { host: target.connectHost, port: target.connectPort }),
        servername: target.host, ca: target.ca,
      }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    this.received = Buffer.alloc(0);
    // A socket that closed while idle is replaced on the next send; only the current one may fail a request.
    socket.on('data', (chunk: Buffer) => { if (this.socket === socket) this.onData(chunk); });
    socket.on('error', (err) => { if (this.socket === socket) this.fail(err); });
    socket.on('close', () => { if (this.socket === socket) this.fail(new Error(`connection to ${target.host} closed before the answer was complete`)); });
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    if (!this.pending) return;
    let parsed;
    try {
      parsed = parseResponse(this.received);
    } catch (err) {
      this.fail(err as Error);
      this.close();
      return;
    }
    if (!parsed) return;
    this.received = this.received.subarray(parsed.used);
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve(parsed.response);
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}

/** Opens a TCP connection to a proxy and asks it to CONNECT to `target`; resolves with the tunnel. */
function connectTunnel(proxyHost: string, proxyPort: number, target: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, proxyHost, () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEADER_END);
      if (end < 0) return;
      socket.off('data', onData);
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200/.test(statusLine)) {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT ${target}: ${statusLine}`));
        return;
      }
      // Anything after the proxy's answer already belongs to the tunnel (a TLS server speaks second, so none is expected).
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
