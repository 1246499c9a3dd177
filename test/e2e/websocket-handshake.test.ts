import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { rawUpgradeThroughEdge } from '../support/raw-websocket-upgrade.js';
import { closeOf, settledHandshake, webSocketThroughEdge, type SettledHandshake, type WebSocketClose } from '../support/websocket-through-edge.js';

/**
 * A client's WebSocket handshake through Edge is answered as its upstream answered: with the subprotocol the
 * upstream chose (any of those offered, or none), or with the upstream's refusal. The origin is a local `ws`
 * server; what it does is set by the URL's `test` parameter (`pick=<n>|none`, `refuse`, `slow`).
 */

// openai-node's browser OpenAIRealtimeWebSocket offers these (the key is a test value).
const BROWSER_PROTOCOLS = ['realtime', 'openai-insecure-api-key.sk-test-0002', 'openai-beta.realtime-v1'];
// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const REALTIME = 'wss://api.openai.com/v1/realtime?model=gpt-realtime';

let origin: http.Server;
let edge: EdgeProcess;
/** Every message the origin received, per connection, in order. */
const received: string[][] = [];

const testOf = (url: string | undefined) => new URL(url ?? '/', 'http://origin.invalid').searchParams;

beforeAll(async () => {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) => {
      const pick = testOf(req.url).get('pick');
      return pick === 'none' ? false : ([...offered][Number(pick ?? 0)] ?? false);
    },
  });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => {
    const test = testOf(req.url);
    if (test.has('refuse-hop')) {
      // A load balancer's refusal: a header named in Connection, Proxy-Authenticate, a control character in the reason.
      socket.end('HTTP/1.1 401 Unauth\x01orized\r\nConnection: close, X-Hop-Secret\r\nX-Hop-Secret: internal-lb-42\r\nProxy-Authenticate: Basic realm="corp-lb"\r\nSet-Cookie: __cf_bm=abc; Path=/\r\nContent-Length: 5\r\n\r\nnope!');
      return;
    }
    if (test.has('refuse')) {
      const body = JSON.stringify({ error: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Bearer realm="OpenAI"\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const accept = () => wss.handleUpgrade(req, socket, head, (ws) => {
      const messages: string[] = [];
      received.push(messages);
      // As the Realtime API does: the server speaks first, as soon as the socket opens.
      ws.send(JSON.stringify({ type: 'session.created' }));
      ws.on('message', (m) => {
        messages.push(m.toString());
        ws.send(JSON.stringify({ type: 'echo', seen: messages.length }));
      });
    });
    if (test.has('slow')) setTimeout(accept, 300);
    else accept();
  });
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-handshake-', { geminiModels: ['*'], geminiUnreachable: true });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

interface Handshake extends SettledHandshake {
  ws: WebSocket;
  replies: string[];
  closed: Promise<WebSocketClose>;
}

/** Opens a WebSocket through Edge and resolves once its handshake is settled (opened, refused or failed). */
async function handshake(url: string, protocols: string[]): Promise<Handshake> {
  const ws = await webSocketThroughEdge(edge, url, { protocols });
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  const closed = closeOf(ws);
  return { ws, replies, closed, ...(await settledHandshake(ws)) };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('the client is answered with the subprotocol the upstream chose', () => {
  for (const [index, protocol] of BROWSER_PROTOCOLS.entries()) {
    it(`the upstream picks offered protocol #${index + 1} (${protocol.split('.')[0]}): the client gets it, and the socket works both ways`, async () => {
      const socket = await handshake(`${REALTIME}&pick=${index}`, BROWSER_PROTOCOLS);
      expect(socket.opened).toBe(true);
      expect(socket.answeredProtocol).toBe(protocol);
      expect(socket.ws.protocol).toBe(protocol);
      socket.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      await until(() => socket.replies.length === 2, 'two server messages');
      // What the server sent the moment it opened (before the client's handshake was answered) comes first.
      expect(socket.replies.map((r) => (JSON.parse(r) as { type: string }).type)).toEqual(['session.created', 'echo']);
      socket.ws.close();
    });
  }

  it('an upstream that chooses none of the offered protocols: the client is answered with none either', async () => {
    const socket = await handshake(`${REALTIME}&pick=none`, BROWSER_PROTOCOLS);
    // RFC 6455 lets the server choose none; `ws` as a client then gives up, a browser goes on.
    expect(socket.answeredProtocol).toBeNull();
  });

  it('a client that offers none gets none, as before', async () => {
    const socket = await handshake(REALTIME, []);
    expect(socket.opened).toBe(true);
    expect(socket.answeredProtocol).toBeNull();
    socket.ws.close();
  });
});

describe('an upstream that does not open the socket', () => {
  it('refuses the upgrade (401): the client gets that answer, its headers and body, not an opened socket', async () => {
    const socket = await handshake(`${REALTIME}&refuse`, BROWSER_PROTOCOLS);
    expect(socket.opened).toBe(false);
    expect(socket.refused).toMatchObject({ status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="OpenAI"' } });
    expect(JSON.parse(socket.refused!.body)).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it('refuses it with hop-by-hop headers and a control character in the reason: those are not relayed, as for HTTP', async () => {
    const answer = (await rawUpgradeThroughEdge(edge, '/v1/realtime?model=gpt-realtime&refuse-hop')).bytes.toString('latin1');
    const [head, body] = answer.split('\r\n\r\n');
    const [statusLine, ...headerLines] = head!.split('\r\n');
    // Node's standard phrase, as the HTTP relay sends when the upstream's cannot be written.
    expect(statusLine).toBe('HTTP/1.1 401 Unauthorized');
    const names = headerLines.map((line) => line.split(':')[0]!.toLowerCase());
    expect(names).not.toContain('x-hop-secret');
    expect(names).not.toContain('proxy-authenticate');
    expect(headerLines.map((line) => line.replace(/^[^:]+/, (name) => name.toLowerCase()))).toContain('set-cookie: __cf_bm=abc; Path=/');
    expect(body).toBe('nope!');
  });

  it('cannot be reached: the client gets a 502 saying so', async () => {
    const socket = await handshake('wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent', []);
    expect(socket.opened).toBe(false);
    expect(socket.refused?.status).toBe(502);
    expect(socket.refused?.body).toContain('could not open the upstream WebSocket');
  });
});

describe('what Edge decides still applies', () => {
  it('messages sent the moment the socket opens, to an upstream slow to answer, are inspected in order: a secret is not sent', async () => {
    const connection = received.length;
    const socket = await handshake(`${REALTIME}&pick=1&slow`, BROWSER_PROTOCOLS);
    expect(socket.ws.protocol).toBe(BROWSER_PROTOCOLS[1]);
    for (let i = 1; i <= 3; i++) socket.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `note ${i}` }] } }));
    socket.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `deploy with ${GITHUB_TOKEN}` }] } }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('secret');
    const sent = (received[connection] ?? []).map((m) => (JSON.parse(m) as { item: { content: Array<{ text: string }> } }).item.content[0]!.text);
    expect(sent).toEqual(['note 1', 'note 2', 'note 3']);
  });

  it('a model the key does not allow is refused with the close reason, though the client offered protocols', async () => {
    const socket = await handshake('wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview', BROWSER_PROTOCOLS);
    expect(socket.answeredProtocol).toBe('realtime');
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('gpt-4o-realtime-preview');
  });
});

describe('the upstream is the tunnel\'s host', () => {
  it('an upgrade whose request target is a whole URL (another server) is refused, and that server is never dialed', async () => {
    let dialed = 0;
    const bait = net.createServer((socket) => {
      dialed++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
    try {
      const target = `ws://127.0.0.1:${(bait.address() as AddressInfo).port}/v1/realtime?model=gpt-realtime`;
      const answer = await rawUpgradeThroughEdge(edge, target);
      expect(answer.statusLine).toMatch(/^HTTP\/1\.1 101/);
      expect(answer.close?.code).toBe(1008);
      expect(answer.close?.reason).toContain('path');
      expect(dialed).toBe(0);
    } finally {
      await new Promise((resolve) => bait.close(resolve));
    }
  });
});
