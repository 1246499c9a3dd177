import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import tls from 'node:tls';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { curl, openConnectTunnel, proxyDispatcher, tlsThroughProxy, undiciFetch } from '../support/proxy-clients.js';
import Anthropic from '@anthropic-ai/sdk';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }

let origin: TestOrigin;
let plainOrigin: http.Server;
let plainOriginPort: number;
let edge: EdgeProcess;
const seen: Seen[] = [];

beforeAll(async () => {
  origin = await startTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ origin: 'test-origin', path: req.url }));
    });
  });
  // A plain origin that also speaks WebSocket (like a realtime API): echo each message back.
  const wss = new WebSocketServer({ noServer: true });
  plainOrigin = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`plain origin saw ${req.method} ${req.url} host=${req.headers.host}`);
  });
  plainOrigin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`))));
  await new Promise<void>((resolve) => plainOrigin.listen(0, '127.0.0.1', resolve));
  plainOriginPort = (plainOrigin.address() as AddressInfo).port;
  const caFile = origin.caPath;
  edge = await startEdgeProcess({
    config: {
      proxy: { maxRequestBodyBytes: 1024 * 1024, tunnelFirstBytesTimeoutMs: 1000 },
      upstream: {
        originOverrides: { 'api.openai.com': origin.url, 'api.anthropic.com': `http://127.0.0.1:${plainOriginPort}`, 'claude.ai': `http://127.0.0.1:${plainOriginPort}`, 'api.githubcopilot.com': origin.url },
        caFile,
      },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
  plainOrigin?.closeAllConnections();
  await new Promise((resolve) => plainOrigin?.close(resolve));
});

describe('local mode (no gateway): forwards to the origin with the app credential', () => {
  it('keeps the app Authorization and adds no Bifrost headers', async () => {
    seen.length = 0;
    const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', 'Authorization: Bearer sk-proj-local', '-H', 'Content-Type: application/json',
      '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'local' }] })]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ origin: 'test-origin', path: '/v1/chat/completions' });
    expect(seen[0]!.headers.authorization).toBe('Bearer sk-proj-local');
    expect(Object.keys(seen[0]!.headers).filter((h) => h.startsWith('x-bf-'))).toEqual([]);
  });

  it('GitHub Copilot\'s Anthropic-shaped /v1/messages (Claude models) is read like Anthropic\'s own: a secret is refused in Anthropic\'s error format', async () => {
    const copilot = new Anthropic({
      apiKey: 'copilot-session-token', baseURL: 'https://api.githubcopilot.com', maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never,
    });
    seen.length = 0;
    const refused = await copilot.messages.create({ model: 'claude-sonnet-4.5', max_tokens: 64, messages: [{ role: 'user', content: 'deploy with ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo' }] })
      .then(() => undefined, (err: unknown) => err as { status?: number; error?: { type?: string; error?: { type?: string } } });
    expect(refused?.status).toBe(446);
    expect(refused?.error).toMatchObject({ type: 'error', error: { type: 'guardrail_blocked' } });
    expect(seen).toEqual([]);
    // A clean request goes on to Copilot's /v1/messages untouched.
    await copilot.messages.create({ model: 'claude-sonnet-4.5', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] }).catch(() => undefined);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/messages']);
  });

  it('offers the provider only the content codings Edge can read the answer in (a browser\'s zstd is dropped)', async () => {
    seen.length = 0;
    const ask = (acceptEncoding: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', 'Content-Type: application/json', '-H', `Accept-Encoding: ${acceptEncoding}`,
      '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'codings' }] })]);
    expect((await ask('gzip, deflate, br, zstd')).status).toBe(200);
    expect((await ask('zstd')).status).toBe(200);
    expect((await ask('br;q=1.0, gzip;q=0.8')).status).toBe(200);
    expect(seen.map((s) => s.headers['accept-encoding'])).toEqual(['gzip, deflate, br', 'identity', 'br;q=1.0, gzip;q=0.8']);
  });

  it('an absolute https:// URL sent to the proxy in the clear still goes upstream over TLS, never in cleartext', async () => {
    // A raw listener standing in for a TLS origin: it only records what the first bytes look like.
    const firstBytes: Buffer[] = [];
    const listener = net.createServer((socket) => socket.once('data', (data: Buffer) => {
      firstBytes.push(data);
      socket.destroy();
    }));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      const body = '{"ping":1}';
      const proxy = new URL(edge.proxyUrl);
      const client = net.connect(Number(proxy.port), proxy.hostname);
      await new Promise((resolve) => client.once('connect', resolve));
      client.write(`POST https://127.0.0.1:${port}/v1/upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer sk-live-SECRET\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        client.on('data', (d: Buffer) => (text += d.toString()));
        client.on('close', () => resolve(text));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 502/);
      expect(firstBytes).toHaveLength(1);
      expect(firstBytes[0]![0]).toBe(0x16); // a TLS handshake record
      expect(firstBytes[0]!.toString('latin1')).not.toContain('sk-live-SECRET');
    } finally {
      listener.close();
    }
  });

  it('inspects a gzip body by decoding it but forwards the original bytes', async () => {
    seen.length = 0;
    const body = zlib.gzipSync(Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'zipped' }] })));
    const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    const answer = await rawHttp(socket, `POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body);
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    const forwarded = seen.find((s) => s.url === '/v1/chat/completions')!;
    expect(forwarded.headers['content-encoding']).toBe('gzip');
    expect(forwarded.body.equals(body)).toBe(true);

    const badJson = zlib.gzipSync(Buffer.from('{"model": "gpt-4o", "messages": ['));
    const { socket: s2 } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    const refused = await rawHttp(s2, `POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${badJson.length}\r\nConnection: close\r\n\r\n`, badJson);
    expect(refused).toMatch(/^HTTP\/1.1 400/);
    expect(refused).toMatch(/not valid JSON/);
  });

  it('a tunnelled (non-AI) host presents its own certificate, not one from the Edge CA', async () => {
    const viaTunnel = await tlsThroughProxy(edge.proxyUrl, '127.0.0.1', origin.port, { ca: origin.caPem, servername: 'localhost' });
    expect(viaTunnel.authorized).toBe(true);
    expect(viaTunnel.cert.issuer.CN).toMatch(/Test Origin CA/);
    viaTunnel.socket.destroy();
    const intercepted = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    expect(intercepted.authorized).toBe(true);
    expect(intercepted.cert.issuer.CN).toMatch(/Bifrost Edge/);
    expect(intercepted.cert.subjectaltname).toContain('DNS:api.openai.com');
    intercepted.socket.destroy();
  });

  it('curl through a tunnel verifies against the origin CA only', async () => {
    const res = await curl(['-x', edge.proxyUrl, '--cacert', origin.caPath, `https://127.0.0.1:${origin.port}/tunnelled`]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).path).toBe('/tunnelled');
  });

  it('plain HTTP proxying of a non-AI host', async () => {
    const res = await curl(['-x', edge.proxyUrl, `http://127.0.0.1:${plainOriginPort}/hello?x=1`]);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`plain origin saw GET /hello?x=1 host=127.0.0.1:${plainOriginPort}`);
  });

  it('refuses a Host header that disagrees with the CONNECT target', async () => {
    const { socket } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    const answer = await rawHttp(socket, 'GET /v1/models HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 421/);
    expect(answer).toMatch(/Host header names evil.example.com but this connection was opened to api.openai.com/);
  });

  it('bad requests get clear errors: unknown route, invalid JSON, oversized body', async () => {
    const unknown = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/definitely-not-an-endpoint']);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.message).toMatch(/blocked GET \/v1\/definitely-not-an-endpoint on api.openai.com: it is not a documented OpenAI API route/);

    const invalid = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions', '-H', 'Content-Type: application/json', '-d', '{"model": gpt-4o}']);
    expect(invalid.status).toBe(400);
    const invalidBody = JSON.parse(invalid.body);
    expect(invalidBody.type).toBe('invalid_request');
    expect(invalidBody.error.message).toMatch(/not valid JSON/);

    // Declared too large: refused before the body is read.
    const { socket: s1 } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    const declared = await rawHttp(s1, 'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n');
    expect(declared).toMatch(/^HTTP\/1.1 413/);
    expect(declared).toMatch(/larger than the 1.0 MiB Bifrost Edge inspects/);
    // Chunked with no length: refused as soon as it passes the cap.
    const { socket: s2 } = await tlsThroughProxy(edge.proxyUrl, 'api.openai.com', 443, { ca: edge.caPem });
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const chunked = Buffer.concat(Array.from({ length: 6 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])));
    const streamed = await rawHttp(s2, 'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', chunked);
    expect(streamed).toMatch(/^HTTP\/1.1 413/);
    expect(seen.some((s) => s.body.length > 1024 * 1024)).toBe(false);
  });

  it('relays WebSocket upgrades on an intercepted host whose unrecognised requests pass (claude.ai)', async () => {
    const ws = await webSocketThroughEdge(edge, 'wss://claude.ai/v1/realtime');
    const reply = new Promise<string>((resolve) => ws.once('message', (m: Buffer) => resolve(m.toString())));
    await opened(ws);
    ws.send('ping-1');
    expect(await reply).toBe('echo:ping-1');
    ws.close();
    // Its frames are not read, but its opening is decided and recorded, flagged as uninspected.
    const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ host: string; path: string; decision: string; findings: Array<{ type: string; ruleId: string }> }>;
    expect(activity.find((a) => a.host === 'claude.ai' && a.path === '/v1/realtime')).toMatchObject({ decision: 'flagged', findings: [{ type: 'uninspected', ruleId: 'websocket' }] });
  });

  it('refuses a WebSocket opened at the proxy itself (a web page could make Edge dial itself until it ran out of sockets)', async () => {
    const fds = () => fs.readdirSync(`/proc/${edge.child.pid}/fd`).length;
    const before = fds();
    const proxy = new URL(edge.proxyUrl);
    const ws = new WebSocket(`ws://${proxy.host}/`, { headers: { origin: 'https://evil.example' } });
    const closed = await new Promise<number>((resolve) => {
      ws.once('close', (code) => resolve(code));
      ws.once('error', () => {});
    });
    expect(closed).toBe(1008);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fds()).toBeLessThan(before + 20);
  });

  it('refuses a WebSocket whose Host names another server than its tunnel', async () => {
    const ws = await webSocketThroughEdge(edge, 'wss://claude.ai/v1/realtime', { headers: { host: `127.0.0.1:${plainOriginPort}` } });
    expect((await closeOf(ws)).code).toBe(1008);
  });

  it('plain HTTP in an intercepted tunnel is answered when it comes after the tunnel opened', async () => {
    const { socket } = await openConnectTunnel(edge.proxyUrl, 'api.anthropic.com:80');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write('GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: close\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('plain origin saw GET /v1/models');
  });

  it('closes an intercepted tunnel that stays silent (proxy.tunnelFirstBytesTimeoutMs)', async () => {
    const { socket } = await openConnectTunnel(edge.proxyUrl, 'api.openai.com:443');
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an AI host reached by IP address (CONNECT to the address, the host named in SNI) is still intercepted', async () => {
    seen.length = 0;
    const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '--connect-to', `api.openai.com:443:127.0.0.1:${new URL(origin.url).port}`,
      'https://api.openai.com/v1/chat/completions', '-H', 'content-type: application/json',
      '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'by address' }] })]);
    expect(res.status).toBe(200);
    // Edge's certificate was accepted (curl trusts only Edge's CA here) and the request was read.
    expect(seen.map((s) => s.url)).toEqual(['/v1/chat/completions']);
    const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ host: string; path: string }>;
    expect(activity[0]).toMatchObject({ host: 'api.openai.com', path: '/v1/chat/completions' });
  });

  it('a tunnel to an address where the server speaks first (SSH, SMTP) still opens', async () => {
    const banner = net.createServer((socket) => socket.end('SSH-2.0-TestServer\r\n'));
    await new Promise<void>((resolve) => banner.listen(0, '127.0.0.1', resolve));
    try {
      const proxy = new URL(edge.proxyUrl);
      const socket = net.connect(Number(proxy.port), proxy.hostname);
      const target = `127.0.0.1:${(banner.address() as AddressInfo).port}`;
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      const received = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('close', () => resolve(text));
      });
      expect(received).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n[\s\S]*\r\n\r\nSSH-2\.0-TestServer\r\n$/);
    } finally {
      banner.close();
    }
  });

  it('serves the PAC file and health endpoint on the proxy port', async () => {
    const pac = await curl([`${edge.proxyUrl}/proxy.pac`]);
    expect(pac.status).toBe(200);
    expect(pac.body).toContain('FindProxyForURL');
    expect(pac.body).toContain(`PROXY ${new URL(edge.proxyUrl).host}`);
    expect(pac.body).toContain('"api.openai.com"');
    const health = await curl([`${edge.proxyUrl}/healthz`]);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', mode: 'local' });
  });
});

/** Writes a raw HTTP/1.1 request on a socket and collects the whole answer (Connection: close). */
function rawHttp(socket: tls.TLSSocket, head: string, body?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    socket.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    socket.once('end', () => resolve(out));
    socket.once('close', () => resolve(out));
    socket.once('error', reject);
    socket.write(head);
    if (body) socket.write(body);
  });
}
