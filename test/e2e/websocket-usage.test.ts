import { execFile } from 'node:child_process';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { EDGE_BIN, type EdgeProcess } from '../support/edge-process.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';

/**
 * What the server of a WebSocket reports it used is charged to the key's token windows, as an HTTP answer's usage
 * is, and recorded: a Realtime session's `response.done`, each Responses turn's `response.completed`, a Gemini Live
 * session's `usageMetadata`. The key may use 1,000 tokens an hour. Once they are used up, the next Responses turn
 * is refused (the socket stays open); a Realtime or Gemini Live session, whose server answers without being asked
 * (voice activity detection), is closed. The origin answers each model call with the usage below, and sends a
 * message that is not JSON when asked to.
 */

const GEMINI_LIVE = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
/** Not JSON, though it names usage: relayed as it is, and charged nothing. */
const UNPARSABLE = '{"type":"response.done","response":{"usage":{"total_tokens":900,';

function startOrigin(): http.Server {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    const path = new URL(req.url ?? '/', 'http://origin.invalid').pathname;
    let responses = 0;
    ws.on('message', (data: RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (path === '/v1/realtime') {
        if (message['type'] === 'conversation.item.create') ws.send(UNPARSABLE);
        // A response.create, or (server voice activity detection) audio the server answers by itself.
        if (message['type'] === 'response.create' || message['type'] === 'input_audio_buffer.append') {
          const id = `resp_${++responses}`;
          ws.send(JSON.stringify({ type: 'response.created', response: { id, status: 'in_progress', usage: null } }));
          ws.send(JSON.stringify({
            type: 'response.done',
            response: { id, status: 'completed', usage: { total_tokens: 600, input_tokens: 400, output_tokens: 200, input_token_details: { cached_tokens: 100, text_tokens: 300, audio_tokens: 100 } } },
          }));
        }
      } else if (path === '/v1/responses') {
        const response = { id: `resp_${++responses}`, object: 'response', model: message['model'] ?? null, output: [] };
        ws.send(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', usage: null } }));
        ws.send(JSON.stringify({
          type: 'response.completed', sequence_number: 1,
          response: { ...response, status: 'completed', usage: { input_tokens: 700, output_tokens: 500, total_tokens: 1200, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 100 } } },
        }));
      } else if ('setup' in message) {
        // Gemini Live answers in binary frames.
        ws.send(Buffer.from(JSON.stringify({ setupComplete: {} })));
      } else {
        ws.send(Buffer.from(JSON.stringify({ serverContent: { turnComplete: true }, usageMetadata: { promptTokenCount: 450, responseTokenCount: 250, totalTokenCount: 700 } })));
      }
    });
  }));
  return origin;
}

interface Session {
  ws: WebSocket;
  /** The next message the client gets (a Buffer, as it came). */
  next(): Promise<Buffer>;
  closed: Promise<{ code: number; reason: string }>;
}

async function openThroughEdge(edge: EdgeProcess, host: string, target: string): Promise<Session> {
  const ws = await webSocketThroughEdge(edge, `wss://${host}${target}`);
  const received: Buffer[] = [];
  const waiting: Array<(data: Buffer) => void> = [];
  ws.on('message', (data: Buffer) => {
    const next = waiting.shift();
    if (next) next(data);
    else received.push(data);
  });
  const closed = closeOf(ws);
  await opened(ws);
  const next = () => {
    const ready = received.shift();
    return ready ? Promise.resolve(ready) : new Promise<Buffer>((resolve) => waiting.push(resolve));
  };
  return { ws, next, closed };
}

/** The messages the client gets until one of `type`; that one. */
async function until(session: Session, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const message = JSON.parse(String(await session.next())) as Record<string, unknown>;
    if (message['type'] === type) return message;
  }
}

/** The tokens the key's window has been charged, as `bifrost-edge status` shows them. */
function tokensUsed(edge: EdgeProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [EDGE_BIN, 'status', '--json', '--data-dir', edge.dataDir], (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`status failed: ${stderr}`));
        return;
      }
      const status = JSON.parse(stdout) as { policy: { rateLimits: Array<{ metric: string; used: number }> } };
      resolve(status.policy.rateLimits.find((limit) => limit.metric === 'tokens')?.used ?? Number.NaN);
    });
  });
}

/** The tokens charged, once they reach `expected` (charges and records follow the relayed message). */
async function tokensOnceCharged(edge: EdgeProcess, expected: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let used = await tokensUsed(edge);
  while (used < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    used = await tokensUsed(edge);
  }
  return used;
}

interface AuditRecord { path: string; model?: string | null; decision: string; status?: number; reason?: string; usage?: { input_tokens: number; output_tokens: number } }

const TOKEN_LIMIT = { token_max_limit: 1000, token_reset_duration: '1h' };

describe('usage a WebSocket server reports is charged to the key', () => {
  const started: Array<{ edge: EdgeProcess; origin: http.Server }> = [];
  /** An Edge of its own (its key's tokens all unused), before an origin of its own. */
  const edge = async (prefix: string, options: { geminiModels?: string[] } = {}) => {
    const origin = startOrigin();
    const agent = await startEdgeBeforeRealtimeOrigin(origin, prefix, { allowedModels: ['gpt-realtime', 'gpt-5-mini'], rateLimit: TOKEN_LIMIT, ...options });
    started.push({ edge: agent, origin });
    return agent;
  };

  afterAll(async () => {
    await Promise.all(started.map(async ({ edge: agent, origin }) => {
      await agent.stop();
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
    }));
  });

  it('OpenAI Realtime: each response.done is charged and recorded; a message Edge cannot parse is relayed as it came and charged nothing; once the tokens are used up, a session answered by voice activity detection is closed', async () => {
    const agent = await edge('edge-ws-usage-realtime-');
    const session = await openThroughEdge(agent, 'api.openai.com', '/v1/realtime?model=gpt-realtime');

    session.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } }));
    expect(String(await session.next())).toBe(UNPARSABLE);
    expect(await tokensUsed(agent)).toBe(0);

    session.ws.send(JSON.stringify({ type: 'response.create' }));
    const done = await until(session, 'response.done');
    expect(done).toMatchObject({ response: { usage: { total_tokens: 600 } } });
    expect(await tokensOnceCharged(agent, 600)).toBe(600);

    // Server VAD: audio, and the server answers; that answer uses the key's tokens up, and the session is closed.
    session.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from('pcm16 audio').toString('base64') }));
    await until(session, 'response.done');
    const closed = await session.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain("Your key 'eng-team' reached its limit");
    expect(await tokensUsed(agent)).toBe(1200);

    const records = await auditRecordsOnceThere<AuditRecord>(agent.dataDir, (r) => r.path === '/v1/realtime', 4);
    expect(records.filter((r) => r.usage).map((r) => [r.model, r.usage])).toEqual([
      ['gpt-realtime', { input_tokens: 400, output_tokens: 200 }],
      ['gpt-realtime', { input_tokens: 400, output_tokens: 200 }],
    ]);
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', status: 429, reason: 'token_limited' });
  });

  it('Responses WebSocket mode: each response.completed is charged to its turn, and once the tokens are used up the next response.create is refused with an error event, the socket staying open', async () => {
    const agent = await edge('edge-ws-usage-responses-');
    const session = await openThroughEdge(agent, 'api.openai.com', '/v1/responses');
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }];

    session.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input }));
    await until(session, 'response.completed');
    expect(await tokensOnceCharged(agent, 1200)).toBe(1200);

    session.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input }));
    const refused = await until(session, 'error');
    expect(refused).toMatchObject({ status: 429, error: { type: 'token_limited' } });
    expect(session.ws.readyState).toBe(WebSocket.OPEN);
    session.ws.close();

    const records = await auditRecordsOnceThere<AuditRecord>(agent.dataDir, (r) => r.path === '/v1/responses', 4);
    expect(records.map((r) => [r.decision, r.model, r.usage ?? null])).toEqual([
      ['allowed', null, null],
      ['allowed', 'gpt-5-mini', null],
      ['allowed', 'gpt-5-mini', { input_tokens: 700, output_tokens: 500 }],
      ['blocked', 'gpt-5-mini', null],
    ]);
  });

  it('Gemini Live: each usageMetadata is charged to the setup\'s model, and the session is closed once the tokens are used up', async () => {
    const agent = await edge('edge-ws-usage-gemini-', { geminiModels: ['gemini-live-2.5-flash'] });
    const session = await openThroughEdge(agent, 'generativelanguage.googleapis.com', `${GEMINI_LIVE}?key=AIza-test`);
    session.ws.send(JSON.stringify({ setup: { model: 'models/gemini-live-2.5-flash' } }));
    expect(JSON.parse(String(await session.next()))).toEqual({ setupComplete: {} });

    const turn = JSON.stringify({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'hello' }] }], turnComplete: true } });
    session.ws.send(turn);
    expect(JSON.parse(String(await session.next()))).toMatchObject({ usageMetadata: { totalTokenCount: 700 } });
    expect(await tokensOnceCharged(agent, 700)).toBe(700);

    session.ws.send(turn);
    await session.next();
    expect((await session.closed).code).toBe(1008);
    expect(await tokensUsed(agent)).toBe(1400);
    const records = await auditRecordsOnceThere<AuditRecord>(agent.dataDir, (r) => r.path === GEMINI_LIVE && r.usage !== undefined, 2);
    expect(records.map((r) => [r.model, r.usage])).toEqual([
      ['gemini-live-2.5-flash', { input_tokens: 450, output_tokens: 250 }],
      ['gemini-live-2.5-flash', { input_tokens: 450, output_tokens: 250 }],
    ]);
  });
});
