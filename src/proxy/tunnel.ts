import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { RelayReadBuffer } from './relay-read-buffer.js';

export interface TunnelOptions {
  connectTimeoutMs: number;
  log: Logger;
  /** Called with the upstream socket so the proxy can close live tunnels on shutdown. */
  track?: (socket: net.Socket) => void;
  /** The client was already answered CONNECTION_ESTABLISHED (its first bytes were read to decide). */
  alreadyAnswered?: boolean;
}

/** The answer to a CONNECT the proxy carries out. */
export const CONNECTION_ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\nProxy-Agent: bifrost-edge\r\n\r\n';

/**
 * Sockets buffer 16 KiB of writes by default while a read delivers up to 64 KiB, so every chunk of a
 * bulk download would pause the other side's reading and resume it on 'drain' (two epoll changes and a
 * wake-up per chunk). A larger write buffer lets whole reads through; memory stays bounded per tunnel.
 */
const RELAY_HIGH_WATER_MARK = 256 * 1024;

function raiseWriteHighWaterMark(socket: Duplex): void {
  // The accepted client socket was made by the HTTP server (and net.connect takes no such option):
  // the limit can only be raised in place.
  const state = (socket as Duplex & { _writableState?: { highWaterMark: number } })._writableState;
  if (state && state.highWaterMark < RELAY_HIGH_WATER_MARK) state.highWaterMark = RELAY_HIGH_WATER_MARK;
}

/**
 * Blind TCP tunnel for hosts Edge does not govern: bytes are relayed untouched, so the client
 * negotiates TLS with the real origin and sees the origin's own certificate.
 */
export function openBlindTunnel(client: Duplex, head: Buffer, host: string, port: number, options: TunnelOptions): void {
  let waitingForClient = false;
  const readBuffer = new RelayReadBuffer();
  const upstream: net.Socket = net.connect({
    host, port, allowHalfOpen: true,
    onread: {
      // Asked before every read: the buffer the next read goes into.
      buffer: () => readBuffer.current,
      callback: (bytes: number, buffer: Uint8Array): boolean => {
        client.write(buffer.subarray(0, bytes), resumeReading);
        readBuffer.afterRead(bytes);
        // The write is still queued when the kernel did not take it all: it points into the read
        // buffer, so read nothing more until it is flushed (its callback resumes reading).
        if (client.writableLength === 0) return true;
        waitingForClient = true;
        return false;
      },
    },
  });
  function resumeReading(): void {
    if (!waitingForClient || client.destroyed) return;
    waitingForClient = false;
    upstream.resume();
  }
  options.track?.(upstream);
  upstream.setNoDelay(true);
  const timer = setTimeout(() => upstream.destroy(new Error(`connect timed out after ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
  let established = false;

  upstream.once('connect', () => {
    clearTimeout(timer);
    established = true;
    if (!options.alreadyAnswered) client.write(CONNECTION_ESTABLISHED);
    if (head.length > 0) upstream.write(head);
    raiseWriteHighWaterMark(upstream);
    client.pipe(upstream);
    upstream.on('end', () => client.end());
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    // A 502 can still go out only while the client has had no answer.
    if (!established && !options.alreadyAnswered) {
      const reason = err.code ?? err.message;
      const body = `Bifrost Edge could not open a connection to ${host}:${port} (${reason}). Check the address and your network.\n`;
      client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      options.log.info('tunnel connect failed', { host, port, reason });
    } else {
      client.destroy();
    }
  });
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}
