import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { auditRecordsOnceThere, auditRowsOf } from '../support/audit-tail.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * Gemini's Lyria RealTime music generation goes through the real Edge to a local stand-in for Google's server: the
 * model its setup names is held to the key's model rules before any prompt leaves, the guardrails read its weighted
 * prompts, what is allowed goes both ways as it was sent (the music's audio chunks back), and the session is recorded.
 * The stand-in answers setup with setupComplete, PLAY with two audio chunks, and records what reached it. Each
 * session's records are counted exactly: those on its path after its opening's.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const MUSIC_PATH = '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic';
const MUSIC = `wss://generativelanguage.googleapis.com${MUSIC_PATH}?key=AIza-test`;

interface AuditRecord { path: string; model?: string | null; decision: string; status?: number; reason?: string; latency_ms?: number; provider?: string; virtual_key_id?: string }

let origin: http.Server;
let edge: EdgeProcess;
/** Every message the stand-in received, per connection, in order (a binary one as `binary:` and its bytes in hex). */
const received: string[][] = [];
/** Every message the stand-in sent, per connection, in order. */
const answered: string[][] = [];

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    const messages: string[] = [];
    const answers: string[] = [];
    received.push(messages);
    answered.push(answers);
    const answer = (value: unknown) => {
      const text = JSON.stringify(value);
      answers.push(text);
      ws.send(text);
    };
    ws.on('message', (m: Buffer, isBinary) => {
      const text = m.toString();
      messages.push(isBinary ? `binary:${m.toString('hex')}` : text);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if ('setup' in message) answer({ setupComplete: {} });
      if (message['playbackControl'] === 'PLAY') {
        for (let i = 0; i < 2; i++) {
          answer({ serverContent: { audioChunks: [{ data: randomBytes(4096).toString('base64'), mimeType: 'audio/l16;rate=48000;channels=2' }] } });
        }
      }
    });
  }));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-music-'));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{ id: 'vk-music', name: 'music-team', value: 'sk-bf-ws-0002', is_active: true, provider_configs: [
      { provider: 'gemini', allowed_models: ['lyria-realtime-exp', 'lyria-002'] },
    ] }],
  }));
  edge = await startEdgeProcess({
    dataDir,
    config: { mode: 'local', policyFile, upstream: { originOverrides: { 'generativelanguage.googleapis.com': originUrl } } },
  });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

interface Session {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  replies: string[];
  origin: () => string[];
  answers: () => string[];
  /** This session's records after its opening's, once there are `count`: exactly that many, or the test fails. */
  records: (count: number) => Promise<AuditRecord[]>;
}

async function open(): Promise<Session> {
  const ws = await webSocketThroughEdge(edge, MUSIC);
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  const closed = closeOf(ws);
  const connection = received.length;
  await opened(ws);
  // The opening is recorded before the client is answered, and sessions here run one at a time: the last on the path is this one's.
  const opening = (await auditRowsOf<AuditRecord>(edge.dataDir)).filter((row) => row.record.path === MUSIC_PATH && row.record.status === 101).at(-1)!;
  const records = async (count: number) => {
    const after = async () => (await auditRowsOf<AuditRecord>(edge.dataDir)).filter((row) => row.seq > opening.seq && row.record.path === MUSIC_PATH).map((row) => row.record);
    // A record is written a moment after its message is decided: waited for as auditRecordsOnceThere waits.
    const deadline = Date.now() + 5000;
    let found = await after();
    while (found.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      found = await after();
    }
    expect(found.map((r) => [r.decision, r.model])).toHaveLength(count);
    return found;
  };
  return { ws, closed, replies, origin: () => received[connection] ?? [], answers: () => answered[connection] ?? [], records };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const records = (select: (r: AuditRecord) => boolean, count = 1) => auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.path === MUSIC_PATH && select(r), count);

describe('Lyria RealTime through Edge', () => {
  it('a model the key does not allow is refused before any prompt leaves, and the refusal recorded', async () => {
    const socket = await open();
    socket.ws.send(JSON.stringify({ setup: { model: 'models/lyria-003' } }));
    socket.ws.send(JSON.stringify({ clientContent: { weightedPrompts: [{ text: 'minimal techno', weight: 1 }] } }));
    socket.ws.send(JSON.stringify({ playbackControl: 'PLAY' }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('lyria-003');
    expect(socket.origin()).toEqual([]);
    const [blocked] = await socket.records(1);
    expect(blocked).toMatchObject({ decision: 'blocked', model: 'lyria-003', status: 403, reason: 'model_blocked' });
  });

  it('a secret in a weighted prompt is not sent: the socket closes naming where it was', async () => {
    const socket = await open();
    socket.ws.send(JSON.stringify({ setup: { model: 'models/lyria-realtime-exp' } }));
    socket.ws.send(JSON.stringify({ clientContent: { weightedPrompts: [{ text: `a song about ${GITHUB_TOKEN}`, weight: 1 }] } }));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/secret .* in clientContent\.weightedPrompts\[0\]\.text/);
    expect(closed.reason).not.toContain(GITHUB_TOKEN);
    expect(socket.origin()).toHaveLength(1);
    expect(socket.origin().join()).not.toContain(GITHUB_TOKEN);
    const [setup, blocked] = await socket.records(2);
    expect(setup).toMatchObject({ decision: 'allowed', model: 'lyria-realtime-exp' });
    expect(blocked).toMatchObject({ decision: 'blocked', reason: 'guardrail_blocked', model: 'lyria-realtime-exp' });
  });

  it('an allowed session goes both ways as sent: prompts, config and playback out, setupComplete and audio chunks back; it is recorded', async () => {
    const socket = await open();
    const sent = [
      JSON.stringify({ setup: { model: 'models/lyria-realtime-exp' } }),
      JSON.stringify({ client_content: { weighted_prompts: [{ text: 'Minimal Techno', weight: 1 }, { text: 'Cello', weight: 0.5 }] } }),
      JSON.stringify({ music_generation_config: { bpm: 90, temperature: 1.1, scale: 'C_MAJOR_A_MINOR' } }),
      JSON.stringify({ playbackControl: 'PLAY' }),
    ];
    for (const message of sent) socket.ws.send(message);
    await until(() => socket.replies.length === 3, 'setupComplete and two audio chunks');
    expect(socket.origin()).toEqual(sent);
    expect(socket.replies).toEqual(socket.answers());
    expect(JSON.parse(socket.replies[1]!)).toHaveProperty('serverContent.audioChunks.0.data');
    socket.ws.close();
    await socket.closed;
    // The opening (its status, how long it took to open), no longer flagged as uninspected, and the session's model
    // as its setup was allowed: one each, however many sessions came before.
    const openings = await records((r) => r.status === 101, 3);
    expect(openings.at(-1)).toMatchObject({ decision: 'allowed', latency_ms: expect.any(Number) });
    expect(JSON.stringify(openings)).not.toContain('uninspected');
    const [session] = await socket.records(1);
    expect(session).toMatchObject({ decision: 'allowed', model: 'lyria-realtime-exp', provider: 'gemini', virtual_key_id: 'vk-music' });
  });

  it('a binary frame is not relayed: one holding a prompt behind a form feed or a second byte-order mark closes the socket with 1003', async () => {
    const prompt = JSON.stringify({ clientContent: { weightedPrompts: [{ text: `a song about ${GITHUB_TOKEN}`, weight: 1 }] } });
    for (const before of [[0x0c], [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]]) {
      const socket = await open();
      const setup = JSON.stringify({ setup: { model: 'models/lyria-realtime-exp' } });
      socket.ws.send(setup);
      socket.ws.send(Buffer.concat([Buffer.from(before), Buffer.from(prompt)]), { binary: true });
      socket.ws.send(JSON.stringify({ playbackControl: 'PLAY' }));
      const closed = await socket.closed;
      expect(closed).toMatchObject({ code: 1003, reason: expect.stringContaining('Lyria RealTime takes text messages only') });
      expect(socket.origin()).toEqual([setup]);
      const [allowed, blocked] = await socket.records(2);
      expect(allowed).toMatchObject({ decision: 'allowed', model: 'lyria-realtime-exp' });
      expect(blocked).toMatchObject({ decision: 'blocked', status: 400, model: 'lyria-realtime-exp' });
    }
  });

  it('a second setup switching to another allowed model is relayed and recorded, and what follows names it', async () => {
    const socket = await open();
    const sent = [
      JSON.stringify({ setup: { model: 'models/lyria-realtime-exp' } }),
      JSON.stringify({ setup: { model: 'models/lyria-002' } }),
      JSON.stringify({ clientContent: { weightedPrompts: [{ text: `a song about ${GITHUB_TOKEN}`, weight: 1 }] } }),
    ];
    for (const message of sent) socket.ws.send(message);
    expect((await socket.closed).code).toBe(1008);
    expect(socket.origin()).toEqual(sent.slice(0, 2));
    const recorded = await socket.records(3);
    expect(recorded.map((r) => [r.decision, r.model])).toEqual([['allowed', 'lyria-realtime-exp'], ['allowed', 'lyria-002'], ['blocked', 'lyria-002']]);
  });
});
