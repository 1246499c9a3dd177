import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientHelloBytesMissing, serverNameOf } from '../../src/proxy/client-hello.js';

/** The first bytes a real Node TLS client sends, captured by a plain TCP listener. */
async function captureClientHello(servername: string | undefined): Promise<Buffer> {
  let first!: (bytes: Buffer) => void;
  const captured = new Promise<Buffer>((resolve) => (first = resolve));
  const server = net.createServer((socket) => socket.once('data', (bytes: Buffer) => {
    first(bytes);
    socket.destroy();
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...(servername !== undefined ? { servername } : {}) });
  client.on('error', () => {});
  try {
    return await captured;
  } finally {
    client.destroy();
    server.close();
  }
}

describe('serverNameOf', () => {
  it('reads the SNI a real TLS client sends, and nothing from a hello without one', async () => {
    const hello = await captureClientHello('API.OpenAI.com');
    expect(clientHelloBytesMissing(hello)).toBe(0);
    expect(serverNameOf(hello)).toBe('api.openai.com');
    // Node sends no SNI for an IP address.
    expect(serverNameOf(await captureClientHello(undefined))).toBeUndefined();
  });

  it('knows a record cut short from one that is not TLS at all', async () => {
    const hello = await captureClientHello('chatgpt.com');
    expect(clientHelloBytesMissing(hello.subarray(0, 3))).toBe(2);
    expect(clientHelloBytesMissing(hello.subarray(0, 100))).toBe(hello.length - 100);
    expect(serverNameOf(hello.subarray(0, 60))).toBeUndefined();
    expect(clientHelloBytesMissing(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'))).toBe(-1);
    expect(serverNameOf(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBeUndefined();
  });
});
