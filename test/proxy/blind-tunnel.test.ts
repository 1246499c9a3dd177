import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { openBlindTunnel } from '../../src/proxy/tunnel.js';

/** Deterministic bytes that do not compress or repeat in a way a bug could hide behind. */
function pseudoRandom(bytes: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A proxy front that tunnels every connection to the origin, as the CONNECT handler does. */
async function tunnelTo(originPort: number): Promise<number> {
  // allowHalfOpen like the HTTP server whose CONNECT sockets the proxy tunnels.
  return listen(net.createServer({ allowHalfOpen: true }, (client) => {
    client.once('data', (first) => {
      // The client's "CONNECT" line; the tunnel answers with the 200 once the origin is connected.
      expect(first.toString()).toContain('CONNECT');
      openBlindTunnel(client, Buffer.alloc(0), '127.0.0.1', originPort, { connectTimeoutMs: 5000, log: silentLogger });
    });
  }));
}

/** Connects, sends a CONNECT line, and returns the socket positioned after the 200 header. */
async function connectThrough(port: number): Promise<{ socket: net.Socket; afterHeader: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write('CONNECT origin:443 HTTP/1.1\r\n\r\n');
  let seen = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      expect(seen.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 200/);
      resolve({ socket, afterHeader: seen.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('blind tunnel relay', () => {
  it('delivers a large download intact to a slow reader (backpressure), then the origin\'s end', async () => {
    const payload = pseudoRandom(24 * 1024 * 1024, 42);
    const originPort = await listen(net.createServer((socket) => socket.end(payload)));
    const { socket, afterHeader } = await connectThrough(await tunnelTo(originPort));
    const chunks: Buffer[] = [afterHeader];
    let received = afterHeader.length;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        // Copy: the test must not trust that the relay hands over buffers it will not reuse.
        chunks.push(Buffer.from(chunk));
        received += chunk.length;
        // Read in bursts with pauses so the relay's writes back up and it must stop reading.
        if (received % (3 * 1024 * 1024) < chunk.length) {
          socket.pause();
          setTimeout(() => socket.resume(), 30);
        }
      });
      socket.once('end', resolve);
      socket.once('error', reject);
      socket.resume();
    });
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(payload.length);
    expect(sha256(got)).toBe(sha256(payload));
  }, 30_000);

  it('delivers a download that starts with small pieces and turns into bulk intact (the read buffer grows mid-tunnel)', async () => {
    const pieces = Array.from({ length: 20 }, (_, i) => pseudoRandom(700 + i, i + 1));
    const bulk = pseudoRandom(12 * 1024 * 1024, 99);
    const originPort = await listen(net.createServer((socket) => {
      void (async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        socket.end(bulk);
      })();
    }));
    const { socket, afterHeader } = await connectThrough(await tunnelTo(originPort));
    const chunks: Buffer[] = [afterHeader];
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => { chunks.push(Buffer.from(chunk)); });
      socket.once('end', resolve);
      socket.once('error', reject);
      socket.resume();
    });
    const expected = Buffer.concat([...pieces, bulk]);
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(expected.length);
    expect(sha256(got)).toBe(sha256(expected));
  }, 30_000);

  it('relays an upload intact and lets the origin answer after the client half-closes', async () => {
    const upload = pseudoRandom(8 * 1024 * 1024, 7);
    const originPort = await listen(net.createServer({ allowHalfOpen: true }, (socket) => {
      const hash = createHash('sha256');
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length; });
      socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}`));
    }));
    const { socket } = await connectThrough(await tunnelTo(originPort));
    socket.resume();
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.once('end', () => resolve(text));
    });
    socket.end(upload);
    expect(await answer).toBe(`${upload.length} ${sha256(upload)}`);
  }, 30_000);

  it('relays what a server-first origin sends before the client says anything', async () => {
    const originPort = await listen(net.createServer((socket) => socket.write('220 ready\r\n')));
    const { socket, afterHeader } = await connectThrough(await tunnelTo(originPort));
    socket.resume();
    const banner = afterHeader.length > 0 ? afterHeader.toString() : await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    expect(banner).toBe('220 ready\r\n');
    socket.destroy();
  });
});
