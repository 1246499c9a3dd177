import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { settledHandshake, tunnelThroughEdge, webSocketThroughEdge, type SettledHandshake } from '../support/websocket-through-edge.js';

/**
 * WebSockets in gateway mode. The Bifrost gateway serves one WebSocket API, the Responses API's WebSocket mode:
 * that socket goes to the gateway's `/openai/v1/responses` with the employee's virtual key, and the app's OpenAI
 * key (its Authorization header, or an `openai-insecure-api-key.` subprotocol) stays on the laptop. Every other
 * AI WebSocket (the Realtime API here) has no Bifrost route and goes to its origin, as an HTTP request without a
 * Bifrost route does. The origin of api.openai.com is a local `ws` server serving only /v1/realtime.
 */

const VIRTUAL_KEY = 'sk-bf-ws-gateway-0001';
// Assembled at run time so the repository never holds a credential-shaped literal.
const APP_KEY = 'sk-' + 'proj-app-key-that-stays-on-the-laptop';
const INSECURE_KEY_PROTOCOL = `openai-insecure-api-key.${APP_KEY}`;

let standin: BifrostStandin;
let origin: http.Server;
let edge: EdgeProcess;
/** The upgrade requests the origin received. */
const originUpgrades: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: VIRTUAL_KEY, name: 'ada' }] });
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => {
    originUpgrades.push(req.headers);
    if (!req.url?.startsWith('/v1/realtime')) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 25\r\nConnection: close\r\n\r\nthe origin was reached\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ type: 'session.created' })));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  edge = await startEdgeProcess({
    config: {
      gateway: { url: standin.url, virtualKey: VIRTUAL_KEY },
      identity: { user: 'ada@example.com', device: 'ada-laptop' },
      upstream: { originOverrides: { 'api.openai.com': originUrl } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

beforeEach(() => {
  standin.clear();
  originUpgrades.length = 0;
  standin.setVirtualKeys([{ value: VIRTUAL_KEY, name: 'ada' }]);
});

interface RawHandshake extends SettledHandshake {
  ws: WebSocket;
}

/** A plain `ws` client through Edge; resolves once its handshake is settled. */
async function rawHandshake(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<RawHandshake> {
  const ws = await webSocketThroughEdge(edge, url, { protocols, headers });
  return { ws, ...(await settledHandshake(ws)) };
}

describe('gateway mode: the Responses API WebSocket', () => {
  it('the real openai SDK\'s ResponsesWS completes a response through the gateway, which gets the virtual key and never the app\'s key', async () => {
    const client = new OpenAI({ apiKey: APP_KEY, baseURL: 'https://api.openai.com/v1' });
    const rws = new ResponsesWS(client, { createConnection: await tunnelThroughEdge(edge, 'api.openai.com') });
    try {
      const completed = await new Promise<{ response: { status?: string; output_text?: string; output: unknown[] } }>((resolve, reject) => {
        rws.on('response.completed', (event) => resolve(event as never));
        rws.on('error', (err) => reject(err));
        rws.send({ type: 'response.create', model: 'gpt-4o-mini', input: 'hello through the gateway' });
      });
      expect(completed.response.status).toBe('completed');
      expect(JSON.stringify(completed.response.output)).toContain('echo: hello through the gateway');
    } finally {
      rws.close();
    }
    expect(originUpgrades).toHaveLength(0);
    expect(standin.webSockets).toHaveLength(1);
    const socket = standin.webSockets[0]!;
    expect(socket.request.path).toBe('/openai/v1/responses');
    expect(socket.request.status).toBe(101);
    expect(socket.request.headers['x-bf-vk']).toBe(VIRTUAL_KEY);
    expect(socket.request.headers['authorization']).toBeUndefined();
    expect(JSON.stringify(socket.request.headers)).not.toContain(APP_KEY);
    expect(socket.request.logHeaders).toMatchObject({ user: 'ada@example.com', device: 'ada-laptop' });
    expect(socket.messages).toHaveLength(1);
    expect(JSON.parse(socket.messages[0]!)).toMatchObject({ type: 'response.create', input: 'hello through the gateway' });
  });

  it('an openai-insecure-api-key subprotocol is withheld from the gateway, and the client still gets a valid handshake', async () => {
    // Offered alone: the gateway is offered none and chooses none; the client, which offered one, is answered with it.
    const alone = await rawHandshake('wss://api.openai.com/v1/responses', [INSECURE_KEY_PROTOCOL]);
    expect(alone.error).toBeUndefined();
    expect(alone.opened).toBe(true);
    expect(alone.answeredProtocol).toBe(INSECURE_KEY_PROTOCOL);
    alone.ws.close();
    // Beside another: the gateway is offered the other, and the client is answered with what the gateway chose.
    const beside = await rawHandshake('wss://api.openai.com/v1/responses', [INSECURE_KEY_PROTOCOL, 'responses.v1']);
    expect(beside.opened).toBe(true);
    expect(beside.answeredProtocol).toBe('responses.v1');
    beside.ws.close();

    expect(standin.webSockets.map((s) => s.subprotocols)).toEqual([[], ['responses.v1']]);
    expect(standin.webSockets.map((s) => s.request.headers['x-bf-vk'])).toEqual([VIRTUAL_KEY, VIRTUAL_KEY]);
    expect(JSON.stringify(standin.webSockets.map((s) => s.request.headers))).not.toContain(APP_KEY);
  });

  it('a virtual key the gateway does not know: the client gets the gateway\'s 401 and its JSON body', async () => {
    standin.setVirtualKeys([{ value: 'sk-bf-someone-else', name: 'eve' }]);
    const raw = await rawHandshake('wss://api.openai.com/v1/responses', [], { authorization: `Bearer ${APP_KEY}` });
    expect(raw.refused?.status).toBe(401);
    expect(raw.refused?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(raw.refused!.body)).toMatchObject({ error: { type: 'virtual_key_not_found' } });

    // The real SDK reports the refusal with its status.
    const client = new OpenAI({ apiKey: APP_KEY, baseURL: 'https://api.openai.com/v1' });
    const rws = new ResponsesWS(client, { createConnection: await tunnelThroughEdge(edge, 'api.openai.com') });
    const error = await new Promise<Error>((resolve) => rws.on('error', resolve));
    expect(error.message).toContain('401');
    expect(standin.webSockets.every((s) => s.request.status === 401)).toBe(true);
    expect(originUpgrades).toHaveLength(0);
  });

  it('too many sockets: the gateway\'s 429, its Retry-After and JSON body reach the client', async () => {
    standin.failNext(429, undefined, { path: '/openai/v1/responses', message: 'maximum concurrent WebSocket connections reached', headers: { 'retry-after': '7' } });
    const raw = await rawHandshake('wss://api.openai.com/v1/responses', []);
    expect(raw.refused?.status).toBe(429);
    expect(raw.refused?.headers['retry-after']).toBe('7');
    expect(JSON.parse(raw.refused!.body)).toMatchObject({ error: { message: 'maximum concurrent WebSocket connections reached' } });
  });
});

describe('gateway mode: WebSockets Bifrost has no route for', () => {
  it('the Realtime API still reaches its origin (with the app\'s own key), and the gateway sees nothing', async () => {
    const raw = await rawHandshake('wss://api.openai.com/v1/realtime?model=gpt-realtime', [], { authorization: `Bearer ${APP_KEY}` });
    expect(raw.error).toBeUndefined();
    expect(raw.opened).toBe(true);
    const first = await new Promise<string>((resolve) => raw.ws.once('message', (data) => resolve(String(data))));
    expect(JSON.parse(first)).toEqual({ type: 'session.created' });
    raw.ws.close();
    expect(originUpgrades).toHaveLength(1);
    expect(originUpgrades[0]!['authorization']).toBe(`Bearer ${APP_KEY}`);
    expect(originUpgrades[0]!['x-bf-vk']).toBeUndefined();
    expect(standin.webSockets).toHaveLength(0);
  });
});
