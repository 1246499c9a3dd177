import http from 'node:http';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { closeWithin, opened, tunnelThroughEdge, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { auditRecordsOf, auditRecordsOnceThere } from '../support/audit-tail.js';

/**
 * The OpenAI Responses API in WebSocket mode (`wss://api.openai.com/v1/responses`, what Codex and the SDK's
 * ResponsesWS use) through a real Edge: each `response.create` is read as a `POST /v1/responses` body is, so a
 * secret in it is blocked, PII redacted in place, its model held to the key's model rules, and each one counts
 * against the key's request limit and is recorded. A refused turn is answered with an `error` event, as the API
 * answers a request it refuses, and the socket stays open; a message Edge cannot read closes it. The origin
 * answers each response.create with `response.created` and `response.completed`, and keeps what it received.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const EMAIL = 'ada.lovelace@analytical-engines.org';

interface OriginMessage { path: string; message: Record<string, unknown> }

/** An origin speaking the Responses WebSocket protocol (enough of it for a client to see each turn end); `upgrades`: the URLs it was asked to open. */
function startResponsesOrigin(received: OriginMessage[], upgrades: string[] = []): http.Server {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  let responses = 0;
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    upgrades.push(req.url ?? '');
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      received.push({ path: req.url ?? '', message });
      const response = { id: `resp_${++responses}`, object: 'response', status: 'completed', model: message['model'] ?? null, output: [] };
      ws.send(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress' } }));
      ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response }));
    });
  }));
  return origin;
}

async function stopOrigin(origin: http.Server | undefined): Promise<void> {
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
}

/** An `error` server event; for an error of the socket itself, the SDK's message. */
interface ErrorEvent { type: string; status?: number; error?: { type?: string; code?: string; message?: string }; message?: string }
type Turn = { kind: 'completed'; id: string } | { kind: 'error'; event: ErrorEvent } | { kind: 'closed'; code: number; reason: string };

/** The official SDK's Responses WebSocket client, through Edge; `turn` sends one response.create and says how it ended. */
async function openSdkSocket(edge: EdgeProcess) {
  const client = new OpenAI({ apiKey: 'sk-test-openai', baseURL: 'https://api.openai.com/v1' });
  const ws = new ResponsesWS(client, { createConnection: await tunnelThroughEdge(edge, 'api.openai.com') } as never);
  const outcomes: Turn[] = [];
  const waiting: Array<(turn: Turn) => void> = [];
  const settle = (turn: Turn) => {
    const next = waiting.shift();
    if (next) next(turn);
    else outcomes.push(turn);
  };
  ws.on('response.completed', (event) => settle({ kind: 'completed', id: event.response.id }));
  // The SDK raises an `error` server event as a WebSocketError holding the event.
  ws.on('error', (err) => settle({ kind: 'error', event: (err as { error?: ErrorEvent }).error ?? { type: 'socket', message: err.message } }));
  ws.on('close', (code, reason) => settle({ kind: 'closed', code, reason }));
  const turn = (event: Record<string, unknown>): Promise<Turn> => {
    ws.send({ type: 'response.create', ...event } as never);
    const ready = outcomes.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return { turn, close: () => ws.close() };
}

/** A raw `ws` client on `target`, for what the SDK would not send; `closed` settles with the close it got. */
async function openRawSocket(edge: EdgeProcess, target: string) {
  const ws = await webSocketThroughEdge(edge, `wss://api.openai.com${target}`);
  const closed = closeWithin(ws, 5000);
  await opened(ws);
  return { ws, closed };
}

interface AuditRecord { path: string; model?: string | null; decision: string; status?: number; reason?: string; message?: string; findings?: Array<{ type: string; action: string }>; usage?: unknown; estimated_usage?: unknown }

const userInput = (text: string) => [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }];

describe('Responses WebSocket mode: each response.create is decided like a POST /v1/responses', () => {
  const received: OriginMessage[] = [];
  const upgrades: string[] = [];
  let origin: http.Server;
  let edge: EdgeProcess;

  beforeAll(async () => {
    origin = startResponsesOrigin(received, upgrades);
    edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-responses-ws-', { allowedModels: ['gpt-realtime', 'gpt-5-mini'] });
  });

  afterAll(async () => {
    await edge?.stop();
    await stopOrigin(origin);
  });

  it('a secret in the input is blocked: the client gets an error event, the origin never sees it, the socket goes on', async () => {
    const socket = await openSdkSocket(edge);
    const blocked = await socket.turn({ model: 'gpt-5-mini', input: userInput(`deploy with ${SECRET} please`) });
    expect(blocked).toMatchObject({ kind: 'error', event: { type: 'error', status: 446, error: { type: 'guardrail_blocked' } } });
    expect(JSON.stringify(received)).not.toContain(SECRET);
    // The same socket takes the next turn.
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'what is 2+2?', instructions: 'answer briefly' })).toMatchObject({ kind: 'completed' });
    expect(received.at(-1)?.message).toMatchObject({ type: 'response.create', model: 'gpt-5-mini', input: 'what is 2+2?' });
    socket.close();
  });

  it('a secret in a tool definition is blocked, as in an HTTP Responses body', async () => {
    const socket = await openSdkSocket(edge);
    const tools = [{ type: 'function', name: 'deploy', description: `Deploys with token ${SECRET}`, parameters: { type: 'object', properties: {} } }];
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'deploy', tools })).toMatchObject({ kind: 'error', event: { status: 446 } });
    expect(JSON.stringify(received)).not.toContain(SECRET);
    socket.close();
  });

  it('a secret in model output or calls replayed as context is blocked, as in an HTTP Responses body', async () => {
    const socket = await openSdkSocket(edge);
    const replayed = [
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: `the token is ${SECRET}` }] },
      { type: 'local_shell_call', id: 'lsh_1', call_id: 'c1', status: 'completed', action: { type: 'exec', command: ['echo', SECRET], env: {} } },
      { type: 'code_interpreter_call', id: 'ci_1', status: 'completed', container_id: 'cnt', code: 'print(1)', outputs: [{ type: 'logs', logs: SECRET }] },
    ];
    for (const item of replayed) {
      expect(await socket.turn({ model: 'gpt-5-mini', input: [item, ...userInput('go on')] })).toMatchObject({ kind: 'error', event: { status: 446 } });
    }
    expect(JSON.stringify(received)).not.toContain(SECRET);
    socket.close();
  });

  it('PII is redacted in place: the origin gets the placeholder, the client its answer', async () => {
    const socket = await openSdkSocket(edge);
    expect(await socket.turn({ model: 'gpt-5-mini', input: userInput(`write to ${EMAIL} about the invoice`) })).toMatchObject({ kind: 'completed' });
    const sent = received.at(-1)!.message as { input: Array<{ content: Array<{ text: string }> }> };
    expect(sent.input[0]!.content[0]!.text).toBe('write to [REDACTED:email] about the invoice');
    socket.close();
  });

  it('a model the key does not allow is refused with an error event, and the origin never sees the turn', async () => {
    const before = received.length;
    const socket = await openSdkSocket(edge);
    const refused = await socket.turn({ model: 'o3-pro', input: 'hello' });
    expect(refused).toMatchObject({ kind: 'error', event: { type: 'error', status: 403, error: { type: 'model_blocked' } } });
    expect(received.length).toBe(before);
    socket.close();
  });

  it('a response.create without a model is refused with a close saying so (the API requires one)', async () => {
    const before = received.length;
    const { ws, closed } = await openRawSocket(edge, '/v1/responses');
    ws.send(JSON.stringify({ type: 'response.create', input: 'hello' }));
    expect(await closed).toEqual({ code: 1008, reason: expect.stringContaining('model is required') as string });
    expect(received.length).toBe(before);
  });

  it('an event type the Responses API does not define closes the socket: Edge does not relay what it cannot read', async () => {
    const before = received.length;
    const { ws, closed } = await openRawSocket(edge, '/v1/responses');
    ws.send(JSON.stringify({ type: 'response.tweak', model: 'o3-pro', input: `deploy with ${SECRET}` }));
    expect(await closed).toEqual({ code: 1008, reason: expect.stringContaining('type') as string });
    expect(received.length).toBe(before);
  });

  it('a field in another letter case (which a Go server, the Bifrost gateway, reads as the field) closes the socket', async () => {
    const before = received.length;
    const { ws, closed } = await openRawSocket(edge, '/v1/responses');
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', Input: `deploy with ${SECRET}` }));
    expect(await closed).toEqual({ code: 1008, reason: expect.stringContaining('"Input", which servers read as "input"') as string });
    expect(received.length).toBe(before);
  });

  it('a response.append (Codex) continues with the model of the response.create before it, and is read too', async () => {
    const { ws, closed } = await openRawSocket(edge, '/v1/responses');
    ws.send(JSON.stringify({ type: 'response.append', input: userInput('hello') }));
    expect(await closed).toEqual({ code: 1008, reason: expect.stringContaining('response.create') as string });

    const second = await openRawSocket(edge, '/v1/responses');
    const events: Array<Record<string, unknown>> = [];
    second.ws.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
    second.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: userInput('hello') }));
    second.ws.send(JSON.stringify({ type: 'response.append', input: userInput(`and send it to ${EMAIL}`) }));
    second.ws.send(JSON.stringify({ type: 'response.append', input: userInput(`with ${SECRET}`) }));
    await expect.poll(() => events.filter((e) => e['type'] === 'response.completed' || e['type'] === 'error').length, { timeout: 5000 }).toBe(3);
    expect(events.filter((e) => e['type'] === 'error')).toMatchObject([{ status: 446 }]);
    const appended = received.at(-1)!.message as { type: string; input: Array<{ content: Array<{ text: string }> }> };
    expect(appended).toMatchObject({ type: 'response.append' });
    expect(appended.input[0]!.content[0]!.text).toBe('and send it to [REDACTED:email]');
    expect(JSON.stringify(received)).not.toContain(SECRET);
    second.ws.close();
  });

  it('each response.create is recorded: its model, what was found, and the decision', async () => {
    const socket = await openSdkSocket(edge);
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'audit me, plain' })).toMatchObject({ kind: 'completed' });
    expect(await socket.turn({ model: 'gpt-5-mini', input: `audit me, mail ${EMAIL}` })).toMatchObject({ kind: 'completed' });
    expect(await socket.turn({ model: 'gpt-5-mini', input: `audit me, ${SECRET}` })).toMatchObject({ kind: 'error' });
    expect(await socket.turn({ model: 'o3-pro', input: 'audit me, wrong model' })).toMatchObject({ kind: 'error' });
    socket.close();
    // The turns' own records: not the opening (101), nor the records of what each answer used (written beside them).
    const turns = (await auditRecordsOf<AuditRecord>(edge.dataDir))
      .filter((r) => r.path === '/v1/responses' && r.status !== 101 && r.usage === undefined && r.estimated_usage === undefined);
    const last = turns.slice(-4);
    expect(last.map((r) => [r.model, r.decision, r.status, r.reason])).toEqual([
      ['gpt-5-mini', 'allowed', undefined, undefined],
      ['gpt-5-mini', 'redacted', undefined, undefined],
      ['gpt-5-mini', 'blocked', 446, 'guardrail_blocked'],
      ['o3-pro', 'blocked', 403, 'model_blocked'],
    ]);
    expect(last[1]!.findings).toMatchObject([{ type: 'email', action: 'redact' }]);
    expect(last[2]!.findings).toMatchObject([{ action: 'block' }]);
  });

  it('a WebSocket URL naming ?model= twice is refused: Edge reads the first, an upstream may read the last', async () => {
    const { closed } = await openRawSocket(edge, '/v1/realtime?model=gpt-realtime&model=o3-pro');
    expect(await closed).toEqual({ code: 1008, reason: expect.stringContaining('?model=') as string });
    expect(upgrades.filter((url) => url.includes('o3-pro'))).toEqual([]);
    const [record] = await auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.path === '/v1/realtime' && r.decision === 'blocked', 1);
    expect(record).toMatchObject({ status: 400, reason: 'invalid_request' });
  });
});

describe('Responses WebSocket mode: the key\'s request limit', () => {
  const received: OriginMessage[] = [];
  let origin: http.Server;
  let edge: EdgeProcess;

  beforeAll(async () => {
    origin = startResponsesOrigin(received);
    edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-responses-ws-limit-', {
      allowedModels: ['gpt-5-mini'], rateLimit: { request_max_limit: 2, request_reset_duration: '1h' },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await stopOrigin(origin);
  });

  it('each response.create counts, the opening does not, and a turn Edge blocked gives its place back', async () => {
    const socket = await openSdkSocket(edge);
    expect(await socket.turn({ model: 'gpt-5-mini', input: `blocked: ${SECRET}` })).toMatchObject({ kind: 'error', event: { status: 446 } });
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'one' })).toMatchObject({ kind: 'completed' });
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'two' })).toMatchObject({ kind: 'completed' });
    expect(await socket.turn({ model: 'gpt-5-mini', input: 'three' })).toMatchObject({ kind: 'error', event: { status: 429, error: { type: 'request_limited' } } });
    expect(received.map((r) => r.message['input'])).toEqual(['one', 'two']);
    socket.close();
  });

});

describe('Responses WebSocket mode: response.processed, Codex\'s acknowledgement of a response', () => {
  const received: OriginMessage[] = [];
  let origin: http.Server;
  let edge: EdgeProcess;

  beforeAll(async () => {
    origin = startResponsesOrigin(received);
    edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-responses-ws-processed-', {
      allowedModels: ['gpt-5-mini'], rateLimit: { request_max_limit: 1, request_reset_duration: '1h' },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await stopOrigin(origin);
  });

  it('is relayed as it is and counts nothing: the one request the key has left still goes through after two', async () => {
    const { ws } = await openRawSocket(edge, '/v1/responses');
    const errors: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as Record<string, unknown>;
      if (event['type'] === 'error') errors.push(event);
    });
    ws.send(JSON.stringify({ type: 'response.processed', response_id: 'resp_0' }));
    ws.send(JSON.stringify({ type: 'response.processed', response_id: 'resp_00' }));
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'one' }));
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'two' }));
    await expect.poll(() => received.length + errors.length, { timeout: 5000 }).toBe(4);
    expect(received.map((r) => r.message)).toEqual([
      { type: 'response.processed', response_id: 'resp_0' }, { type: 'response.processed', response_id: 'resp_00' },
      { type: 'response.create', model: 'gpt-5-mini', input: 'one' },
    ]);
    expect(errors).toMatchObject([{ status: 429, error: { type: 'request_limited' } }]);
    ws.close();
  });
});

/**
 * An origin for response.inject: a response.create starts a response that waits for a client-owned tool's output
 * (response.created, in progress); a response.inject commits it (response.inject.created) and the response ends
 * (response.completed, with usage). Each message is kept as received.
 */
function startInjectOrigin(received: OriginMessage[]): http.Server {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  let responses = 0;
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    let active: Record<string, unknown> | undefined;
    let sequence = 0;
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      received.push({ path: req.url ?? '', message });
      if (message['type'] === 'response.create') {
        active = { id: `resp_${++responses}`, object: 'response', status: 'in_progress', model: message['model'], output: [] };
        ws.send(JSON.stringify({ type: 'response.created', sequence_number: sequence++, response: active }));
      } else if (message['type'] === 'response.inject' && active) {
        ws.send(JSON.stringify({ type: 'response.inject.created', sequence_number: sequence++, response_id: active['id'] }));
        const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
        ws.send(JSON.stringify({ type: 'response.completed', sequence_number: sequence++, response: { ...active, status: 'completed', usage } }));
        active = undefined;
      }
    });
  }));
  return origin;
}

describe('Responses WebSocket mode: response.inject (multi-agent beta), input for the active response', () => {
  const received: OriginMessage[] = [];
  let origin: http.Server;
  let edge: EdgeProcess;

  beforeAll(async () => {
    origin = startInjectOrigin(received);
    edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-responses-ws-inject-', {
      allowedModels: ['gpt-5-mini'], rateLimit: { request_max_limit: 1, request_reset_duration: '1h' },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await stopOrigin(origin);
  });

  const toolOutput = (output: string) => [{ type: 'function_call_output', call_id: 'call_1', output }];

  // First: the other test spends the key's one request.
  it('before any response.create (no model to decide it on), or carrying another field, it closes the socket unsent', async () => {
    const before = received.length;
    const first = await openRawSocket(edge, '/v1/responses');
    first.ws.send(JSON.stringify({ type: 'response.inject', response_id: 'resp_1', input: toolOutput('72') }));
    expect(await first.closed).toEqual({ code: 1008, reason: expect.stringContaining('must follow a response.create') as string });

    const second = await openRawSocket(edge, '/v1/responses');
    second.ws.send(JSON.stringify({ type: 'response.inject', response_id: 'resp_1', input: toolOutput('72'), model: 'o3-pro' }));
    expect(await second.closed).toEqual({ code: 1008, reason: expect.stringContaining('field other than response_id and input') as string });
    expect(received.length).toBe(before);
  });
  it('is relayed, read and counted as no request; a secret in it is refused with an error event and the socket goes on', async () => {
    const { ws } = await openRawSocket(edge, '/v1/responses');
    const events: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'what is the weather?' }));
    await expect.poll(() => events.map((e) => e['type']), { timeout: 5000 }).toEqual(['response.created']);

    ws.send(JSON.stringify({ type: 'response.inject', response_id: 'resp_1', input: toolOutput(`the token is ${SECRET}`) }));
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(2);
    expect(events[1]).toMatchObject({ type: 'error', status: 446, error: { type: 'guardrail_blocked' } });

    const inject = { type: 'response.inject', response_id: 'resp_1', input: toolOutput('{"temperature":72}') };
    ws.send(JSON.stringify(inject));
    await expect.poll(() => events.map((e) => e['type']), { timeout: 5000 }).toEqual(['response.created', 'error', 'response.inject.created', 'response.completed']);
    expect(received.map((r) => r.message['type'])).toEqual(['response.create', 'response.inject']);
    expect(received[1]!.message).toEqual(inject);
    expect(JSON.stringify(received)).not.toContain(SECRET);

    // The key allows one request: the response.create was it, the injections counted nothing.
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'and tomorrow?' }));
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(5);
    expect(events[4]).toMatchObject({ type: 'error', status: 429 });
    ws.close();
  });

});
