import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { openConnectTunnel } from '../support/proxy-clients.js';

/**
 * A WebSocket goes to the server its CONNECT tunnel names, as an HTTP request does: the Host header must name the
 * tunnel's host, and its port does not choose another server. Two WebSocket servers listen on 127.0.0.1 (an
 * intercepted host here), each saying its name when a socket opens.
 */

interface NamedServer {
  server: http.Server;
  port: number;
  upgrades: number;
}

async function namedWebSocketServer(name: string): Promise<NamedServer> {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer();
  const named: NamedServer = { server, port: 0, upgrades: 0 };
  server.on('upgrade', (req, socket, head) => {
    named.upgrades += 1;
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(name));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  named.port = (server.address() as AddressInfo).port;
  return named;
}

let tunnelled: NamedServer;
let other: NamedServer;
let edge: EdgeProcess;

beforeAll(async () => {
  tunnelled = await namedWebSocketServer('tunnelled');
  other = await namedWebSocketServer('other');
  edge = await startEdgeProcess({ config: { mode: 'local', interceptHosts: ['127.0.0.1'] } });
});

afterAll(async () => {
  await edge?.stop();
  for (const named of [tunnelled, other]) {
    named?.server.closeAllConnections();
    await new Promise((resolve) => named?.server.close(resolve));
  }
});

describe('a WebSocket inside a CONNECT tunnel', () => {
  it('goes to the tunnel\'s port, not to another port its Host header names', async () => {
    const { socket } = await openConnectTunnel(edge.proxyUrl, `127.0.0.1:${tunnelled.port}`);
    // `ws` writes the URL's host and port as the Host header: 127.0.0.1:<other port>.
    const ws = new WebSocket(`ws://127.0.0.1:${other.port}/socket`, { createConnection: () => socket } as never);
    const first = await new Promise<string>((resolve) => {
      ws.once('message', (data) => resolve(`message ${String(data)}`));
      ws.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      ws.once('error', (err) => resolve(`error ${err.message}`));
    });
    ws.terminate();
    expect(first).toBe('message tunnelled');
    expect(other.upgrades).toBe(0);
  });
});
