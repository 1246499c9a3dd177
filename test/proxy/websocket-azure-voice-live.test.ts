import { afterEach, describe, expect, it } from 'vitest';
import { readRealtimeClientEvent } from '../../src/providers/realtime-events.js';
import { posesAsWebSocketApi, webSocketApiAt } from '../../src/proxy/websocket-api.js';
import { MAX_CLOSE_REASON_BYTES } from '../../src/proxy/websocket-close-reason.js';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';
import { sessionCreated, sessionUpdate } from './realtime-session-usage.js';
import { meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * Two more of Azure's Realtime sockets are read, not relayed unread: a Foundry project's copy of the v1 Realtime API
 * (`/api/projects/{project}/openai/v1/realtime?model=<deployment>`) and Voice Live (`/voice-live/realtime?model=gpt-4o`),
 * whose `?model=` names a model rather than a deployment, held to the key's lists by name (folded, as every Azure name
 * is). A Voice Live socket in agent mode (the agent chooses its model, out of Edge's sight) or naming no model is refused,
 * and so is a project name a lenient server may read as another. Voice Live's own session settings are read, not refused.
 */

const AI_HOSTS = ['contoso.services.ai.azure.com', 'contoso.cognitiveservices.azure.com'];
const VOICE_LIVE = '/voice-live/realtime?api-version=2025-05-01-preview';
const PROJECT = '/api/projects/support-bot/openai/v1/realtime';
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const message = (value: unknown) => Buffer.from(JSON.stringify(value));
const AWS_KEY_ID = 'AKIAQYLPMN5HFIQR7XYZ';
/** Words joined by `+` (as a form-encoded note is), a key among them: strict base64, 1 KiB and more, and no media. */
const PLUS_JOINED_NOTE = (() => {
  const note = `Use+these+deploy+credentials+${AWS_KEY_ID}+for+the+demo+account+`.repeat(20);
  return note.slice(0, note.length - (note.length % 4));
})();
/** A PNG's signature and header chunk, then 64 KiB of image data: what a background image's base64 starts with. */
const PNG_FILE = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64 * 1024, 7)]);
/** A WAV's RIFF header, then 64 KiB of samples. */
const WAV_FILE = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 1, 0]), Buffer.from('WAVEfmt '), Buffer.alloc(64 * 1024, 7)]);

const agentAllowing = (allowed: string[], blacklisted: string[] = []) => websocketDecisionAgent({
  bundle: bundle({}, { provider_configs: [{ provider: 'azure', weight: 1, allowed_models: allowed, blacklisted_models: blacklisted }] }),
  inspectors: [defaultGuardrails()],
});

/** A Voice Live session.update as Microsoft documents it: Azure's voice, avatar, noise reduction and semantic VAD. */
const voiceLiveUpdate = (extra: Record<string, unknown> = {}) => ({
  type: 'session.update',
  session: {
    modalities: ['text', 'audio'],
    instructions: 'You are a helpful assistant.',
    voice: { name: 'en-US-Ava:DragonHDLatestNeural', type: 'azure-standard', temperature: 0.8 },
    input_audio_sampling_rate: 24000,
    input_audio_noise_reduction: { type: 'azure_deep_noise_suppression' },
    input_audio_echo_cancellation: { type: 'server_echo_cancellation' },
    turn_detection: { type: 'azure_semantic_vad', threshold: 0.3, silence_duration_ms: 500, end_of_utterance_detection: { model: 'semantic_detection_v1' } },
    input_audio_transcription: { model: 'azure-speech', language: 'en-US', phrase_list: ['Contoso', 'Fabrikam'] },
    avatar: { character: 'lisa', style: 'casual-sitting', video: { codec: 'h264' } },
    ...extra,
  },
});

describe('which Azure paths speak the Realtime events', () => {
  it.each([
    ['/voice-live/realtime?api-version=2025-05-01-preview&model=gpt-4o', '/voice-live/realtime'],
    ['/voice-live/realtime/?model=gpt-4o', '/voice-live/realtime'],
    ['/voice-liv%65/realtime?model=gpt-4o', '/voice-live/realtime'],
    ['/voice-agent/realtime?api-version=2025-05-01-preview&model=gpt-4o', '/voice-agent/realtime'],
    ['/api/projects/support-bot/openai/v1/realtime?model=voice-prod', PROJECT],
    ['/api/projects/support-bot/openai/v1/realtim%65?model=voice-prod', PROJECT],
  ])('%s is the Realtime API on %s', (path, pathname) => {
    expect(webSocketApiAt('azure', path)).toMatchObject({ api: 'openai-realtime', pathname });
  });

  it.each([
    ['azure', '/voice-live/realtime/x'],
    ['azure', '/voice-live'],
    ['azure', '/voice-live/realtime2'],
    ['azure', '/api/projects/support-bot/openai/realtime'],
    ['azure', '/api/projects/openai/v1/realtime'],
    ['openai', '/voice-live/realtime'],
  ])('%s %s is not', (provider, path) => {
    expect(webSocketApiAt(provider, path)).toBeUndefined();
  });

  it.each([
    '/Voice-Live/realtime', '/voice-live/Realtime', '/voice-live/realtime.', '/voice-live/realtime;x=1', '/voice-live./realtime',
    '/voice-live/realtime%09', '/x/..;/voice-live/realtime', '/api/projects/support-bot/OpenAI/v1/realtime',
    '/api/projects/support-bot/openai/v1/realtime.',
  ])('the look-alike %s poses as one', (path) => {
    expect(posesAsWebSocketApi('azure', path)).toBe(true);
  });
});

describe.each(AI_HOSTS)('Voice Live openings on %s', (host) => {
  it('a model the key lists opens, read, decided and recorded as that model on Azure', async () => {
    const { decide, records } = agentAllowing(['gpt-4o']);
    const opened = await decide({ host, path: `${VOICE_LIVE}&model=gpt-4o`, headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    expect(opened.messages).toBeDefined();
    await opened.upstream!({ kind: 'open' });
    expect(records).toMatchObject([{ decision: 'forwarded', status: 101, provider: 'azure', model: 'gpt-4o', path: '/voice-live/realtime' }]);
  });

  it('the name is held to the lists in any letter case, as Azure names are', async () => {
    const { decide } = agentAllowing(['gpt-4o']);
    expect(await decide({ host, path: `${VOICE_LIVE}&model=GPT-4o`, headers: {} })).toMatchObject({ action: 'allow' });
    const denying = agentAllowing(['*'], ['gpt-4o']);
    expect(await denying.decide({ host, path: `${VOICE_LIVE}&Model=GPT-4O`, headers: {} })).toMatchObject({ action: 'block' });
    expect(denying.records).toMatchObject([{ decision: 'blocked', errorType: 'model_blocked', model: 'GPT-4O' }]);
  });

  it.each([['gpt-realtime'], ['phi4-mm'], ['gpt-4o-mini']])('a model the key does not list is refused before anything is dialed: %s', async (model) => {
    const { decide, records } = agentAllowing(['gpt-4o']);
    expect(await decide({ host, path: `${VOICE_LIVE}&model=${model}`, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining(model) });
    expect(records).toMatchObject([{ decision: 'blocked', errorType: 'model_blocked', provider: 'azure', model }]);
  });

  it.each([
    [`${VOICE_LIVE}&agent-id=asst_123&agent-project-name=support`],
    [`${VOICE_LIVE}&agent_id=asst_123&agent-project-name=support&agent-access-token=t`],
    [`${VOICE_LIVE}&agent-name=support-agent&agent-project-name=support`],
    [`${VOICE_LIVE}&Agent-Id%20=asst_123&agent-project-name=support`],
    // The server may take the agent and ignore the model Edge would decide on.
    [`${VOICE_LIVE}&model=gpt-4o&agent-id=asst_123&agent-project-name=support`],
  ])('an agent-mode opening is refused, saying why: %s', async (path) => {
    const { decide, records } = agentAllowing(['*']);
    expect(await decide({ host, path, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('agent mode') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request', provider: 'azure' }]);
  });

  it.each([
    [VOICE_LIVE],
    [`${VOICE_LIVE}&model=`],
    [`${VOICE_LIVE}&intent=transcription`],
    [`${VOICE_LIVE}&call_id=rtc_123`],
    ['/voice-agent/realtime?api-version=2025-05-01-preview'],
  ])('an opening naming no model is refused: %s', async (path) => {
    const { decide, records } = agentAllowing(['*']);
    expect(await decide({ host, path, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('names no model') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request' }]);
  });

  it.each([['gpt-4o%20'], ['gpt-4o.'], ['gpt-4o;x'], ['gpt-4o%0A']])('a model a lenient server may read as another is refused: ?model=%s', async (name) => {
    const { decide } = agentAllowing(['*'], ['gpt-4o']);
    expect(await decide({ host, path: `${VOICE_LIVE}&model=${name}`, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('exactly') });
  });

  it.each([['/Voice-Live/realtime'], ['/voice-live/realtime.'], ['/voice-live/realtime;x=1']])('a look-alike path is refused, saying so: %s', async (lookalike) => {
    const { decide } = agentAllowing(['*']);
    expect(await decide({ host, path: `${lookalike}?model=gpt-4o`, headers: {} }))
      .toMatchObject({ action: 'block', message: expect.stringContaining('the path is the API\'s but for letter case or ;parameters') });
  });

  it.each([
    ['agentId=asst_1&projectName=support'],
    ['agentName=support-agent&agentProjectName=support'],
    ['agent%20id=asst_1'],
    ['agent.id=asst_1'],
    ['%E2%80%8Bagent-id=asst_1'],
    ['%EF%BD%81gent-id=asst_1'],
  ])('an agent named in another spelling is agent mode too: %s', async (agentParam) => {
    const { decide } = agentAllowing(['*']);
    expect(await decide({ host, path: `${VOICE_LIVE}&model=gpt-4o&${agentParam}`, headers: {} }))
      .toMatchObject({ action: 'block', message: expect.stringContaining('agent mode') });
  });
});

describe.each(AI_HOSTS)('a Foundry project\'s Realtime openings on %s', (host) => {
  it('a deployment the key lists opens, read and recorded', async () => {
    const { decide, records } = agentAllowing(['voice-prod']);
    const opened = await decide({ host, path: `${PROJECT}?model=voice-prod`, headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    expect(opened.messages).toBeDefined();
    await opened.upstream!({ kind: 'open' });
    expect(records).toMatchObject([{ decision: 'forwarded', status: 101, provider: 'azure', model: 'voice-prod', path: PROJECT }]);
  });

  it('a deployment it does not list is refused', async () => {
    const { decide, records } = agentAllowing(['voice-prod']);
    expect(await decide({ host, path: `${PROJECT}?model=voice-secret`, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('voice-secret') });
    expect(records).toMatchObject([{ decision: 'blocked', errorType: 'model_blocked', model: 'voice-secret' }]);
  });

  it('an opening naming no deployment is refused', async () => {
    const { decide } = agentAllowing(['*']);
    expect(await decide({ host, path: PROJECT, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('names no deployment') });
  });

  it.each([['agent_name=billing'], ['agent-id=asst_1'], ['agentId=asst_1'], ['agent.name=billing']])('an agent-mode opening is refused: %s', async (agentParam) => {
    const { decide } = agentAllowing(['*']);
    expect(await decide({ host, path: `${PROJECT}?model=voice-prod&${agentParam}`, headers: {} }))
      .toMatchObject({ action: 'block', message: expect.stringContaining('agent mode') });
  });

  it.each([['support-bot;x'], ['support-bot.'], ['support-bot%20'], ['support-bot%09'], ['support-bot%C3%A9']])('a project name a lenient server may read as another is refused: %s', async (project) => {
    const { decide, records } = agentAllowing(['*']);
    const verdict = await decide({ host, path: `/api/projects/${project}/openai/v1/realtime?model=voice-prod`, headers: {} });
    expect(verdict).toMatchObject({ action: 'block', message: expect.stringContaining('project name') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request' }]);
  });
});

describe('a Voice Live session\'s messages', () => {
  const open = async (allowed: string[]) => {
    const agent = agentAllowing(allowed);
    const opened = await agent.decide({ host: AI_HOSTS[0]!, path: `${VOICE_LIVE}&model=gpt-4o`, headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    await opened.upstream!({ kind: 'open' });
    return { ...agent, messages: opened.messages! };
  };

  it('a session.update with Azure\'s own settings goes, its transcription model held to the key by name', async () => {
    const { messages } = await open(['gpt-4o', 'azure-speech']);
    expect(await messages.inspect(message(voiceLiveUpdate()), false)).toEqual({ action: 'forward' });
  });

  it('a transcription model the key does not list closes the session', async () => {
    const { messages } = await open(['gpt-4o']);
    expect(await messages.inspect(message(voiceLiveUpdate()), false)).toMatchObject({ action: 'close', code: 1008 });
  });

  const FOUNDRY_AGENT_SPELLINGS = [['foundry_agent'], ['Foundry_Agent'], ['FOUNDRY_AGENT'], ['foundry-agent'], ['FoundryAgent']];
  const functions = (count: number) => Array.from({ length: count }, (_, i) => ({ type: 'function', name: `f${i}` }));
  const foundryAgent = (type: string) => ({ type, agent_name: 'billing', project_name: 'support', agent_version: '2', description: 'Answers billing questions' });
  const reasonOf = (verdict: unknown) => (verdict as { reason: string }).reason;

  // .NET reads an enum's name in any letter case, so Voice Live may take `FoundryAgent` for `foundry_agent`.
  describe.each(FOUNDRY_AGENT_SPELLINGS)('a %s tool', (type) => {
    it.each([
      ['session', (tools: unknown[]) => ({ type: 'session.update', session: { tools } })],
      ['response', (tools: unknown[]) => ({ type: 'response.create', response: { tools } })],
    ])('in a %s\'s tools closes the session as agent mode, naming where it sits: the agent\'s model is out of sight', async (parent, event) => {
      const { messages } = await open(['*']);
      const verdict = await messages.inspect(message(event([...functions(12), foundryAgent(type)])), false);
      expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('agent mode') });
      expect(reasonOf(verdict)).toContain(`${parent}.tools[12]`);
      // The whole reason fits a close frame: not cut short on the way to the client.
      expect(Buffer.byteLength(reasonOf(verdict))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    });
  });

  it.each([[100], [1000], [10000]])('a Foundry agent refusal after %i tools still fits a close frame whole, naming the response\'s tools', async (count) => {
    const { messages } = await open(['*']);
    const verdict = await messages.inspect(message({ type: 'response.create', response: { tools: [...functions(count), foundryAgent('foundry_agent')] } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('response.tools') });
    expect(reasonOf(verdict)).toContain('agent mode');
    expect(reasonOf(verdict)).not.toMatch(/…$/);
    expect(Buffer.byteLength(reasonOf(verdict))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
  });

  // A case-insensitive JSON reader takes `Agent` for `agent`; .NET's does.
  it.each([['agent'], ['Agent'], ['AGENT'], ['agent '], ['a'.padEnd(200, '_') + 'gent']])('a session.update handing the session to an agent (%s) closes it as agent mode', async (key) => {
    const { messages } = await open(['*']);
    const update = { type: 'session.update', session: { [key]: { type: 'agent', agent_id: 'asst_1', name: 'billing' } } };
    const verdict = await messages.inspect(message(update), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('agent mode') });
    expect(reasonOf(verdict)).toContain('session');
    expect(Buffer.byteLength(reasonOf(verdict))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
  });

  it.each([['agent'], ['Agent']])('a response.create handing its response to an agent (%s) closes the session as agent mode', async (key) => {
    const { messages } = await open(['*']);
    const create = { type: 'response.create', response: { instructions: 'Answer.', [key]: { agent_name: 'billing' } } };
    const verdict = await messages.inspect(message(create), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('agent mode') });
    expect(reasonOf(verdict)).toContain(`response.${key}`);
  });

  it.each([
    ['a PNG', 'image/png', PNG_FILE],
    ['a WAV', 'audio/wav', WAV_FILE],
  ])('an avatar\'s background sent as %s, bare or as a data URL, is media, not text: the session goes on', async (_what, type, file) => {
    const { messages } = await open(['gpt-4o', 'azure-speech']);
    for (const image of [`data:${type};base64,${file.toString('base64')}`, file.toString('base64')]) {
      const avatar = { character: 'lisa', style: 'casual-sitting', video: { background: { image_url: image } } };
      expect(await messages.inspect(message(voiceLiveUpdate({ avatar })), false)).toEqual({ action: 'forward' });
    }
  });

  it.each([
    ['the instructions', { instructions: `use ${SECRET}` }],
    ['the transcription hints', { input_audio_transcription: { model: 'azure-speech', phrase_list: [SECRET] } }],
    ['a setting Edge does not know', { avatar: { character: 'lisa', customized: true, background_note: SECRET } }],
    // Passes for media by its form only: too short for any image, or text that decodes to no media file.
    ['a short image data URL', { avatar: { video: { background: { image_url: `data:image/png;base64,${AWS_KEY_ID}` } } } }],
    ['a +-joined note of 1 KiB and more', { avatar: { note: PLUS_JOINED_NOTE } }],
    ['a +-joined note of 1 KiB and more as an image data URL', { avatar: { video: { background: { image_url: `data:image/png;base64,${PLUS_JOINED_NOTE}` } } } }],
  ])('a secret in %s closes the session', async (_where, extra) => {
    const { messages } = await open(['gpt-4o', 'azure-speech']);
    expect(await messages.inspect(message(voiceLiveUpdate(extra)), false)).toMatchObject({ action: 'close', code: 1008 });
  });
});

describe('the models a Voice Live session names after its opening', () => {
  // Voice Live's `?model=` names a model, not a deployment: one a session.update names later is held to the key's lists
  // as the opening's was, not to its deny rules alone as the model behind an Azure deployment is.
  let metering: MeteringAgent | undefined;
  afterEach(() => metering?.close());
  const openOn = async (allowed: string[]) => {
    metering = meteringAgent({ provider_configs: [{ provider: 'azure', weight: 1, allowed_models: allowed }] });
    return metering.open(AI_HOSTS[0]!, `${VOICE_LIVE}&model=gpt-4o`);
  };

  it('a session.update switching to a model the key does not list closes the session', async () => {
    const session = await openOn(['gpt-4o']);
    expect(await session.inspect(sessionUpdate('gpt-realtime'), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('gpt-realtime') });
    expect(metering!.records.filter((r) => r.decision === 'blocked')).toMatchObject([{ errorType: 'model_blocked', model: 'gpt-realtime' }]);
  });

  it('a session.update naming the listed model, in any letter case, goes', async () => {
    const session = await openOn(['gpt-4o']);
    expect(await session.inspect(sessionUpdate('GPT-4o'), false)).toEqual({ action: 'forward' });
  });

  // The server's name may be a dated release of what the client named (gpt-4o-2024-11-20 for gpt-4o), which exact names
  // would refuse: it is held to the lists as another provider's server's model is, a release of a listed alias going.
  it('a server saying it runs a model the key does not list closes the session; a dated release of a listed one goes on', async () => {
    const unlisted = await openOn(['gpt-4o']);
    expect(await unlisted.serverMessage(sessionCreated('gpt-realtime'))).toMatchObject({ code: 1008, reason: expect.stringContaining('gpt-realtime') });
    const release = await metering!.open(AI_HOSTS[0]!, `${VOICE_LIVE}&model=gpt-4o`);
    expect(await release.serverMessage(sessionCreated('gpt-4o-2024-11-20'))).toBeUndefined();
  });

  it('a dated release the key\'s deny rules name closes the session, though its alias is listed', async () => {
    metering = meteringAgent({ provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['gpt-4o'], blacklisted_models: ['gpt-4o-2024-05-13'] }] });
    const session = await metering.open(AI_HOSTS[0]!, `${VOICE_LIVE}&model=gpt-4o`);
    expect(await session.serverMessage(sessionCreated('gpt-4o-2024-05-13'))).toMatchObject({ code: 1008 });
  });

  it('a server running the listed model goes on', async () => {
    const session = await openOn(['gpt-4o']);
    expect(await session.serverMessage(sessionCreated('gpt-4o'))).toBeUndefined();
  });
});

describe('the Realtime reader on Voice Live\'s session.update', () => {
  it('reads every string of a field it does not know, and no setting it knows, refusing neither', () => {
    const reading = readRealtimeClientEvent(voiceLiveUpdate());
    expect(reading.transcriptionModel).toBe('azure-speech');
    expect(reading.extraction.texts.map((span) => [span.path.join('.'), span.text, span.kind])).toEqual([
      ['session.instructions', 'You are a helpful assistant.', 'system'],
      ['session.input_audio_transcription.phrase_list.0', 'Contoso', 'system'],
      ['session.input_audio_transcription.phrase_list.1', 'Fabrikam', 'system'],
      ['session.input_audio_echo_cancellation.type', 'server_echo_cancellation', 'other'],
      ['session.avatar.character', 'lisa', 'other'],
      ['session.avatar.style', 'casual-sitting', 'other'],
      ['session.avatar.video.codec', 'h264', 'other'],
    ]);
  });

  it('reads every string of a tool that is no function, its name recorded; an MCP server\'s description only', () => {
    const reading = readRealtimeClientEvent({ type: 'session.update', session: { tools: [
      { type: 'azure_search', name: 'kb', description: 'Searches the Contoso knowledge base', index: { name: 'contoso-kb' } },
      { type: 'mcp', server_label: 'docs', server_url: 'https://mcp.contoso.com', authorization: 'Bearer t0k3n', server_description: 'Contoso docs' },
      { type: 'function', name: 'lookup', description: 'Looks an order up' },
    ] } });
    expect(reading.extraction.texts.map((span) => [span.path.join('.'), span.text, span.kind])).toEqual([
      ['session.tools.0.name', 'kb', 'tool_definition'],
      ['session.tools.0.description', 'Searches the Contoso knowledge base', 'tool_definition'],
      ['session.tools.0.index.name', 'contoso-kb', 'tool_definition'],
      ['session.tools.1.server_description', 'Contoso docs', 'tool_definition'],
      ['session.tools.2.description', 'Looks an order up', 'tool_definition'],
    ]);
    expect(reading.extraction.tools.map((tool) => [tool.name, tool.kind])).toEqual([['kb', 'definition'], ['lookup', 'definition']]);
  });

  it('leaves encoded media in a field it does not know unread, and reads every other string there', () => {
    const png = `data:image/png;base64,${PNG_FILE.toString('base64')}`;
    const wav = WAV_FILE.toString('base64');
    // Strict base64 of 1 KiB and more that is text, not media: names in camelCase, a hex digest, a `+`-joined note.
    const camelCase = 'useTheseDeployCredentialsForTheDemoAccount'.repeat(32);
    const hex = 'deadbeef0123456789abcdef'.repeat(64);
    const reading = readRealtimeClientEvent({ type: 'session.update', session: { avatar: { video: { background: { image_url: png } }, sound: wav,
      poster: 'https://contoso.com/bg.png', note: `data:text/plain;base64,${Buffer.from('call me').toString('base64')}`, key: SECRET,
      names: camelCase, digest: hex, memo: PLUS_JOINED_NOTE, short: `data:image/png;base64,${AWS_KEY_ID}` } } });
    expect(reading.extraction.texts.map((span) => span.path.join('.'))).toEqual([
      'session.avatar.poster', 'session.avatar.note', 'session.avatar.key', 'session.avatar.names', 'session.avatar.digest', 'session.avatar.memo', 'session.avatar.short',
    ]);
  });

  it('an OpenAI session.update of documented fields reads what it read before', () => {
    const reading = readRealtimeClientEvent({
      type: 'session.update',
      session: { type: 'realtime', model: 'gpt-realtime', instructions: 'Be brief.', output_modalities: ['audio'], audio: { output: { voice: 'marin' } }, tracing: 'auto' },
    });
    expect(reading.extraction.texts.map((span) => span.text)).toEqual(['Be brief.']);
  });
});
