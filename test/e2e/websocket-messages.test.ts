import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * Prompts sent over the OpenAI Realtime API and Gemini Live WebSockets are read like request bodies: the
 * guardrails block or redact their text, and Gemini Live's model (named only in its first message) is held to
 * the key's model rules. The origin is a local WebSocket server that records what reaches it and answers.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
const REALTIME = 'wss://api.openai.com/v1/realtime?model=gpt-realtime';
const GEMINI_LIVE = 'wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=AIza-test';
const BODY_LIMIT = 64 * 1024;

interface Activity { path: string; model?: string | null; decision: string; errorType?: string; message?: string; findings: Array<{ type: string; ruleId: string; action: string; location: string }> }

let origin: http.Server;
let edge: EdgeProcess;
/** Every message the origin received, per connection, in order. */
const received: string[][] = [];
/** The Sec-WebSocket-Protocol header each connection's upgrade reached the origin with. */
const offeredProtocols: Array<string | undefined> = [];
/** Offered by a client that wants the origin to choose the last protocol offered, not the first. */
const PICK_LAST = 'test.pick-last';

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => {
    const offered = [...protocols];
    return (offered.includes(PICK_LAST) ? offered.at(-1) : offered[0]) ?? false;
  } });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    const messages: string[] = [];
    received.push(messages);
    offeredProtocols.push(req.headers['sec-websocket-protocol']);
    ws.on('message', (m) => {
      messages.push(m.toString());
      ws.send(JSON.stringify({ type: 'echo', seen: messages.length }));
    });
  }));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-messages-'));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: 'sk-bf-ws-0001', is_active: true, provider_configs: [
      { provider: 'openai', allowed_models: ['*'] },
      { provider: 'gemini', allowed_models: ['gemini-2.5-flash-live'] },
    ] }],
  }));
  edge = await startEdgeProcess({
    dataDir,
    config: {
      mode: 'local', policyFile,
      proxy: { maxRequestBodyBytes: BODY_LIMIT },
      upstream: { originOverrides: { 'api.openai.com': originUrl, 'generativelanguage.googleapis.com': originUrl } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

async function open(url: string, protocols: string[] = []): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }>; replies: string[]; origin: () => string[] }> {
  const ws = await webSocketThroughEdge(edge, url, { protocols });
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  const closed = closeOf(ws);
  const connection = received.length;
  await opened(ws);
  return { ws, closed, replies, origin: () => received[connection] ?? [] };
}

const until = async (check: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const activity = async () => await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Activity[];

describe('OpenAI Realtime client events', () => {
  it('a secret in a user message is not sent: the socket closes with 1008 naming the finding, and the block is recorded', async () => {
    const socket = await open(REALTIME);
    socket.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', instructions: 'be brief' } }));
    socket.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `deploy with ${GITHUB_TOKEN}` }] } }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/secret \(github[^)]*\) in item\.content\[0\]\.text/);
    expect(closed.reason).not.toContain(GITHUB_TOKEN);
    expect(socket.origin()).toHaveLength(1);
    expect(socket.origin().join()).not.toContain(GITHUB_TOKEN);
    const blocked = (await activity()).find((a) => a.path === '/v1/realtime' && a.decision === 'blocked');
    expect(blocked).toMatchObject({ errorType: 'guardrail_blocked', model: 'gpt-realtime', findings: [{ type: 'secret', action: 'block', location: 'item.content[0].text' }] });
  });

  it('an email is redacted in the message before it is sent, and the redaction recorded; the opening is no longer "uninspected"', async () => {
    const socket = await open(REALTIME);
    socket.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `write to ${EMAIL}` }] } }));
    socket.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(64, 7).toString('base64') }));
    await until(() => socket.replies.length === 2, 'two answers');
    const [item, audio] = socket.origin().map((m) => JSON.parse(m) as { item?: { content: Array<{ text: string }> }; type: string });
    expect(item!.item!.content[0]!.text).toBe('write to [REDACTED:email]');
    expect(audio!.type).toBe('input_audio_buffer.append');
    socket.ws.close();
    const records = (await activity()).filter((a) => a.path === '/v1/realtime');
    expect(records.find((a) => a.decision === 'redacted')).toMatchObject({ findings: [{ type: 'email', action: 'redact' }] });
    expect(records.some((a) => a.findings.some((f) => f.type === 'uninspected'))).toBe(false);
  });

  it('a message sent in fragments is decided whole: a secret split across them is still blocked', async () => {
    const socket = await open(REALTIME);
    const event = JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `token ${GITHUB_TOKEN}` }] } });
    const cut = event.indexOf(GITHUB_TOKEN) + 10;
    socket.ws.send(event.slice(0, cut), { fin: false });
    socket.ws.send(event.slice(cut), { fin: true });
    expect((await socket.closed).code).toBe(1008);
    expect(socket.origin()).toEqual([]);
  });

  it('a text frame that is not JSON, and a message over the body limit, close the socket with a reason and are not sent', async () => {
    const notJson = await open(REALTIME);
    notJson.ws.send(`not json ${GITHUB_TOKEN}`);
    const closed = await notJson.closed;
    expect(closed).toMatchObject({ code: 1007, reason: expect.stringContaining('not valid JSON') });
    expect(notJson.origin()).toEqual([]);

    const big = await open(REALTIME);
    big.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'x'.repeat(BODY_LIMIT) }] } }));
    const refused = await big.closed;
    expect(refused).toMatchObject({ code: 1009, reason: expect.stringContaining(`${BODY_LIMIT}-byte limit`) });
    expect(big.origin()).toEqual([]);
    // ws stops reading the message at the limit itself; the refusal is recorded as it closes.
    await until(async () => (await activity()).some((a) => a.errorType === 'request_too_large'), 'the refusal record');
  });
});

describe('subprotocols', () => {
  // openai-node's browser OpenAIRealtimeWebSocket authenticates with its subprotocols.
  const BROWSER_PROTOCOLS = ['realtime', 'openai-insecure-api-key.sk-test-0001', 'openai-beta.realtime-v1'];

  it('the protocols a client offers reach the upstream, and the client is answered with the one the upstream chose', async () => {
    const socket = await open(REALTIME, BROWSER_PROTOCOLS);
    socket.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    await until(() => socket.replies.length === 1, 'the answer');
    expect(offeredProtocols.at(-1)).toBe(BROWSER_PROTOCOLS.join(','));
    expect(socket.ws.protocol).toBe('realtime');
    socket.ws.close();
  });

  it('an upstream that chooses another protocol than the first offered: the client is answered with that one, and the socket works', async () => {
    const socket = await open(REALTIME, ['realtime', PICK_LAST]);
    expect(socket.ws.protocol).toBe(PICK_LAST);
    socket.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    await until(() => socket.replies.length === 1, 'the answer');
    expect(offeredProtocols.at(-1)).toBe(`realtime,${PICK_LAST}`);
    socket.ws.close();
  });
});

describe('Gemini Live client messages', () => {
  it('the model named in setup is held to the key\'s model rules: a model it does not allow closes the socket, recorded', async () => {
    const socket = await open(GEMINI_LIVE);
    socket.ws.send(JSON.stringify({ setup: { model: 'models/gemini-2.0-flash-live-001' } }));
    socket.ws.send(JSON.stringify({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'hello' }] }], turnComplete: true } }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('gemini-2.0-flash-live-001');
    expect(socket.origin()).toEqual([]);
    const blocked = (await activity()).find((a) => a.path.endsWith('.BidiGenerateContent') && a.decision === 'blocked');
    expect(blocked).toMatchObject({ errorType: 'model_blocked', model: 'gemini-2.0-flash-live-001' });
  });

  it('an allowed session: setup goes on, turn text is redacted, audio passes, and the server answers reach the client', async () => {
    const socket = await open(GEMINI_LIVE);
    socket.ws.send(JSON.stringify({ setup: { model: 'models/gemini-2.5-flash-live', systemInstruction: { parts: [{ text: 'be kind' }] } } }));
    socket.ws.send(JSON.stringify({ clientContent: { turns: [{ role: 'user', parts: [{ text: `mail ${EMAIL}` }] }], turnComplete: true } }));
    socket.ws.send(JSON.stringify({ realtimeInput: { audio: { mimeType: 'audio/pcm;rate=16000', data: Buffer.alloc(64, 3).toString('base64') } } }));
    await until(() => socket.replies.length === 3, 'three answers');
    const sent = socket.origin();
    expect(JSON.parse(sent[0]!)).toMatchObject({ setup: { model: 'models/gemini-2.5-flash-live' } });
    expect(JSON.parse(sent[1]!).clientContent.turns[0].parts[0].text).toBe('mail [REDACTED:email]');
    expect(JSON.parse(sent[2]!)).toHaveProperty('realtimeInput.audio');
    expect(socket.replies.map((r) => (JSON.parse(r) as { seen: number }).seen)).toEqual([1, 2, 3]);
    socket.ws.close();
  });

  it('a secret in realtime text input is blocked', async () => {
    const socket = await open(GEMINI_LIVE);
    socket.ws.send(JSON.stringify({ setup: { model: 'models/gemini-2.5-flash-live' } }));
    socket.ws.send(JSON.stringify({ realtimeInput: { text: `the token is ${GITHUB_TOKEN}` } }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/secret .* in realtimeInput\.text/);
    expect(socket.origin()).toHaveLength(1);
  });
});
