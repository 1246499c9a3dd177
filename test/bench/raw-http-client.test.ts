import net from 'node:net';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRequest, parseResponse, RawConnection } from '../../bench/raw-http-client.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';

describe('parseResponse', () => {
  const ok = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello');

  it('waits for the whole Content-Length body, then says how many bytes it used', () => {
    expect(parseResponse(ok.subarray(0, 20))).toBeUndefined();
    expect(parseResponse(ok.subarray(0, ok.length - 1))).toBeUndefined();
    const parsed = parseResponse(Buffer.concat([ok, Buffer.from('HTTP/1.1 204')]))!;
    expect(parsed.response.status).toBe(200);
    expect(parsed.response.body.toString()).toBe('hello');
    expect(parsed.used).toBe(ok.length);
  });

  it('joins a chunked body and waits for its last chunk', () => {
    const chunked = Buffer.from('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n');
    expect(parseResponse(chunked.subarray(0, chunked.length - 2))).toBeUndefined();
    const parsed = parseResponse(chunked)!;
    expect(parsed.response).toEqual({ status: 201, body: Buffer.from('abc0123456789') });
    expect(parsed.used).toBe(chunked.length);
  });

  it('refuses what is not a framed HTTP/1.x answer', () => {
    expect(() => parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/not an HTTP\/1.x response/);
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest'))).toThrow(/neither Content-Length nor chunked/);
  });
});

describe('RawConnection', () => {
  let origin: TestOrigin;
  let tlsConnections = 0;
  let lastRequest: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
  let proxy: net.Server;
  const proxied: string[] = [];
  const tunnels = new Set<net.Socket>();

  beforeAll(async () => {
    origin = await startTestOrigin((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        lastRequest = { method: req.method, url: req.url, headers: req.headers, body };
        if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part one, ');
          setTimeout(() => res.end('part two'), 5);
          return;
        }
        const answer = JSON.stringify({ echo: body });
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    // A minimal CONNECT proxy: answers 200 and pipes bytes (counting tunnels: keep-alive means one per
    // RawConnection), or refuses port 444.
    proxy = net.createServer((client) => {
      tunnels.add(client);
      client.on('close', () => tunnels.delete(client));
      client.once('data', (head: Buffer) => {
        const target = /^CONNECT (\S+) HTTP/.exec(head.toString('latin1'))?.[1] ?? '';
        proxied.push(target);
        if (target.endsWith(':444')) {
          client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        tlsConnections++;
        const upstream = net.connect(origin.port, '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await origin.close();
  });

  const proxyPort = () => (proxy.address() as net.AddressInfo).port;
  const chat = buildRequest('POST', 'api.example.test', '/v1/chat', { 'content-type': 'application/json' }, '{"q":1}');

  it('sends the prebuilt request as is and reads each answer on one kept-alive tunnel', async () => {
    const before = tlsConnections;
    const connection = new RawConnection({ connectHost: '127.0.0.1', connectPort: proxyPort(), viaProxy: true, host: 'api.example.test', ca: origin.caPem });
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await connection.send(chat);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body.toString())).toEqual({ echo: '{"q":1}' });
      }
      expect(lastRequest).toMatchObject({ method: 'POST', url: '/v1/chat', body: '{"q":1}' });
      expect(lastRequest.headers).toMatchObject({ host: 'api.example.test', 'content-type': 'application/json', 'content-length': '7' });
      expect(tlsConnections - before).toBe(1);
      expect(proxied.at(-1)).toBe('api.example.test:443');
    } finally {
      connection.close();
    }
  });

  it('connects straight to the origin, and reads chunked and non-200 answers too', async () => {
    const connection = new RawConnection({ connectHost: '127.0.0.1', connectPort: origin.port, host: 'api.example.test', ca: origin.caPem });
    try {
      const chunked = await connection.send(buildRequest('GET', 'api.example.test', '/chunked', {}));
      expect(chunked).toEqual({ status: 200, body: Buffer.from('part one, part two') });
      expect((await connection.send(buildRequest('GET', 'api.example.test', '/missing', {}))).status).toBe(404);
    } finally {
      connection.close();
    }
  });

  it('opens a new connection when the server closed the idle one', async () => {
    const before = tlsConnections;
    const connection = new RawConnection({ connectHost: '127.0.0.1', connectPort: proxyPort(), viaProxy: true, host: 'api.example.test', ca: origin.caPem });
    try {
      expect((await connection.send(chat)).status).toBe(200);
      // The far side closes the connection while it is idle.
      for (const tunnel of tunnels) tunnel.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await connection.send(chat)).status).toBe(200);
      expect(tlsConnections - before).toBe(2);
    } finally {
      connection.close();
    }
  });

  it('says so when the proxy refuses the tunnel', async () => {
    const connection = new RawConnection({ connectHost: '127.0.0.1', connectPort: proxyPort(), viaProxy: true, host: 'api.example.test', port: 444, ca: origin.caPem });
    await expect(connection.send(chat)).rejects.toThrow(/proxy refused CONNECT api.example.test:444: HTTP\/1.1 403 Forbidden/);
  });
});
