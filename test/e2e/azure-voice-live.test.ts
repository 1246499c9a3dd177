import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startEdgeBeforeRealtimeOrigin, stopEdgeAndOrigin } from '../support/realtime-edge.js';
import { closeOf, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * Azure's Voice Live (`wss://{resource}.services.ai.azure.com/voice-live/realtime?model=gpt-4o`) and a Foundry project's
 * Realtime API speak the Realtime events: through the real Edge to a local stand-in for Azure, a model the key does not
 * list is refused before the origin sees the upgrade, a secret in a session's instructions never reaches it, and an
 * allowed session with Voice Live's own settings is relayed both ways and recorded as a read Azure session.
 */

// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const RESOURCE = 'contoso.services.ai.azure.com';
const VOICE_LIVE = '/voice-live/realtime?api-version=2025-05-01-preview';

const upgrades: string[] = [];
const received: string[] = [];
const origin = http.createServer();
const wss = new WebSocketServer({ noServer: true });
origin.on('upgrade', (req, socket, head) => {
  upgrades.push(req.url ?? '');
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => {
      received.push(String(data));
      ws.send(JSON.stringify({ type: 'session.updated', event_id: `ev_${received.length}` }));
    });
  });
});
let edge: EdgeProcess;

beforeAll(async () => {
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-azure-voice-live-', {
    providerConfigs: [{ provider: 'azure', allowed_models: ['gpt-4o', 'azure-speech', 'voice-prod'] }], originHosts: [RESOURCE],
  });
}, 60_000);

afterAll(() => stopEdgeAndOrigin(edge, origin, wss));

async function openSocket(path: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = await webSocketThroughEdge(edge, `wss://${RESOURCE}${path}`);
  const closed = closeOf(ws);
  await opened(ws);
  return { ws, closed };
}

const sessionUpdate = (instructions: string) => JSON.stringify({
  type: 'session.update',
  session: {
    instructions,
    voice: { name: 'en-US-Ava:DragonHDLatestNeural', type: 'azure-standard' },
    input_audio_noise_reduction: { type: 'azure_deep_noise_suppression' },
    turn_detection: { type: 'azure_semantic_vad', silence_duration_ms: 500 },
    input_audio_transcription: { model: 'azure-speech', language: 'en-US' },
    avatar: { character: 'lisa', style: 'casual-sitting' },
  },
});

describe('Azure Voice Live through Edge', () => {
  it('a model the key does not list is refused before anything is relayed', async () => {
    const before = upgrades.length;
    const ws = await webSocketThroughEdge(edge, `wss://${RESOURCE}${VOICE_LIVE}&model=gpt-realtime`);
    const { code, reason } = await closeOf(ws);
    expect(code).toBe(1008);
    expect(reason).toContain('gpt-realtime');
    expect(upgrades.slice(before)).toEqual([]);
  });

  it('an agent-mode opening is refused, saying why', async () => {
    const before = upgrades.length;
    const ws = await webSocketThroughEdge(edge, `wss://${RESOURCE}${VOICE_LIVE}&agent-id=asst_1&agent-project-name=support`);
    const { code, reason } = await closeOf(ws);
    expect(code).toBe(1008);
    expect(reason).toContain('agent mode');
    expect(upgrades.slice(before)).toEqual([]);
  });

  it.each([
    ['a session.update switching to a model the key does not list', { model: 'gpt-realtime' }, 'gpt-realtime'],
    ['a foundry_agent tool handing the session to an agent', { tools: [{ type: 'foundry_agent', agent_name: 'billing', project_name: 'other', description: 'Answers billing' }] }, 'agent mode'],
  ])('%s closes the session and never reaches Azure', async (_what, session, why) => {
    const before = received.length;
    const { ws, closed } = await openSocket(`${VOICE_LIVE}&model=gpt-4o`);
    ws.send(JSON.stringify({ type: 'session.update', session }));
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toContain(why);
    expect(received.slice(before)).toEqual([]);
  });

  it('a secret in the session\'s instructions is blocked and never reaches Azure', async () => {
    const before = received.length;
    const { ws, closed } = await openSocket(`${VOICE_LIVE}&model=gpt-4o`);
    ws.send(sessionUpdate(`deploy with ${GITHUB_TOKEN}`));
    expect((await closed).code).toBe(1008);
    expect(received.slice(before).join('\n')).not.toContain(GITHUB_TOKEN);
  });

  it('an allowed session with Voice Live\'s settings is relayed both ways and recorded as a read Azure session', async () => {
    const before = received.length;
    const { ws, closed } = await openSocket(`${VOICE_LIVE}&model=gpt-4o`);
    const answer = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send(sessionUpdate('You are a helpful assistant.'));
    expect(JSON.parse(await answer)).toMatchObject({ type: 'session.updated' });
    expect(received.slice(before)).toHaveLength(1);
    expect(JSON.parse(received.at(-1)!)).toMatchObject({ session: { avatar: { character: 'lisa' } } });
    ws.close(1000);
    await closed;
    const [record] = await auditRecordsOnceThere<{ host: string; path: string; provider: string; model: string; decision: string; status: number; virtual_key_id: string; findings: Array<{ type: string }> }>(
      edge.dataDir, (r) => r.host === RESOURCE && r.path === '/voice-live/realtime' && r.status === 101,
    );
    // Opened and read: recorded as allowed, with no `uninspected` finding as a socket relayed unread has.
    expect(record).toMatchObject({ provider: 'azure', model: 'gpt-4o', decision: 'allowed', virtual_key_id: 'vk-eng' });
    expect(record!.findings.map((f) => f.type)).not.toContain('uninspected');
  });
});

describe('a Foundry project\'s Realtime API through Edge', () => {
  it('a deployment the key lists is relayed and read; one it does not list is refused', async () => {
    const { ws, closed } = await openSocket('/api/projects/support-bot/openai/v1/realtime?model=voice-prod');
    ws.send(JSON.stringify({ type: 'session.update', session: { instructions: `use ${GITHUB_TOKEN}` } }));
    expect((await closed).code).toBe(1008);
    expect(received.join('\n')).not.toContain(GITHUB_TOKEN);
    const before = upgrades.length;
    const refused = await webSocketThroughEdge(edge, `wss://${RESOURCE}/api/projects/support-bot/openai/v1/realtime?model=voice-secret`);
    expect((await closeOf(refused)).code).toBe(1008);
    expect(upgrades.slice(before)).toEqual([]);
  });
});
