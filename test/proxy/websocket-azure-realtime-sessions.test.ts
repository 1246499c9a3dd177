import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { listCost } from '../../src/policy/pricing.js';
import type { TokenUsage } from '../../src/policy/usage.js';
import { audioDone, sessionCreated, sessionUpdate } from './realtime-session-usage.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';
import { websocketDecisionAgent } from './support/websocket-decision-agent.js';
import { bundle } from '../policy/support.js';

/**
 * An Azure Realtime session is held to the key's deployment lists through the deployment its opening names, while the
 * models its messages and its server name are the ones behind a deployment: those are held to the key's deny rules
 * only, and each is one more price the session's usage may be charged at (the dearest wins, as on OpenAI). A model the
 * session was already decided on is nothing new, and a transcription socket naming no deployment relays no audio
 * before its session message names an allowed one. Through the WebSocket decision and a real enforcer on a real
 * counter database, wired as src/agent.ts wires them.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

const HOST = 'contoso.openai.azure.com';
const PREVIEW = '/openai/realtime?api-version=2024-10-01-preview';
const keyOnAzure = (allowed: string[], blacklisted: string[] = []): Partial<KeyInput> => ({
  provider_configs: [{ provider: 'azure', weight: 1, allowed_models: allowed, blacklisted_models: blacklisted }],
});

/** What 1M audio tokens in and 1M out cost on `model` at Azure's list prices. */
const MILLION_AUDIO: TokenUsage = {
  inputTokens: 1_000_000, outputTokens: 1_000_000, totalTokens: 2_000_000, cachedInputTokens: 0, reasoningTokens: 0,
  audioInputTokens: 1_000_000, audioOutputTokens: 1_000_000,
};
const audioCostOn = (model: string) => listCost('azure', model, MILLION_AUDIO);

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

describe('the price of an Azure session on a deployment with a name of its own', () => {
  it('is the price of the model its session.update names behind the deployment, when dearer', async () => {
    // The deployment's own name has no price: its usage would be charged at the fallback rates, below the model's audio rates.
    expect(audioCostOn('gpt-4o-realtime-preview')).toBeGreaterThan(audioCostOn('voice-prod'));
    agent = meteringAgent(keyOnAzure(['voice-prod']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await agent.send(session, sessionUpdate('gpt-4o-realtime-preview'))).toBe('forward');
    await session.serverMessage(audioDone(1_000_000));
    expect(agent.records.at(-1)).toMatchObject({ decision: 'forwarded', model: 'gpt-4o-realtime-preview' });
    expect(agent.records.at(-1)!.costUsd).toBeCloseTo(audioCostOn('gpt-4o-realtime-preview'), 6);
  });

  it('is the price of the model the server says it runs, when dearer', async () => {
    agent = meteringAgent(keyOnAzure(['voice-prod']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await session.serverMessage(sessionCreated('gpt-4o-realtime-preview-2024-12-17'))).toBeUndefined();
    await session.serverMessage(audioDone(1_000_000));
    expect(agent.records.at(-1)).toMatchObject({ decision: 'forwarded', model: 'gpt-4o-realtime-preview-2024-12-17' });
    expect(agent.records.at(-1)!.costUsd).toBeCloseTo(audioCostOn('gpt-4o-realtime-preview-2024-12-17'), 6);
  });

  it('never drops below the deployment\'s price when a cheaper model is named', async () => {
    agent = meteringAgent(keyOnAzure(['voice-prod']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await agent.send(session, sessionUpdate('gpt-4o-mini-realtime-preview'))).toBe('forward');
    await session.serverMessage(audioDone(1_000_000));
    expect(agent.records.at(-1)!.costUsd).toBeCloseTo(Math.max(audioCostOn('voice-prod'), audioCostOn('gpt-4o-mini-realtime-preview')), 6);
  });
});

describe('the key\'s deny rules on an Azure session\'s models', () => {
  it('a session.update naming a deployment the key blacklists closes the session, recorded', async () => {
    agent = meteringAgent(keyOnAzure(['*'], ['voice-secret']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await session.inspect(sessionUpdate('VOICE-SECRET'), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('VOICE-SECRET') });
    expect(agent.records.filter((r) => r.decision === 'blocked')).toMatchObject([{ via: 'edge', status: 403, errorType: 'model_blocked', model: 'VOICE-SECRET' }]);
  });

  it('a model the key\'s deployment list does not name still goes: it is the model behind the deployment', async () => {
    agent = meteringAgent(keyOnAzure(['voice-prod'], ['voice-secret']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await agent.send(session, sessionUpdate('gpt-4o-realtime-preview'))).toBe('forward');
    expect(await session.serverMessage(sessionCreated('gpt-4o-realtime-preview-2024-12-17'))).toBeUndefined();
    expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
  });

  it('a server naming a model the key blacklists closes the session', async () => {
    agent = meteringAgent(keyOnAzure(['*'], ['gpt-4o-realtime-preview']));
    const session = await agent.open(HOST, `${PREVIEW}&deployment=voice-prod`);
    expect(await session.serverMessage(sessionCreated('gpt-4o-realtime-preview'))).toMatchObject({ code: 1008, reason: expect.stringContaining('gpt-4o-realtime-preview') });
  });
});

describe('a model the session was already decided on', () => {
  it('a client echoing the release its server named keeps the session (OpenAI)', async () => {
    agent = meteringAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] });
    const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
    expect(await session.serverMessage(sessionCreated('gpt-realtime-2025-08-28'))).toBeUndefined();
    expect(await agent.send(session, sessionUpdate('gpt-realtime-2025-08-28'))).toBe('forward');
    expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
  });

  it('a release the server never named is still decided by exact name', async () => {
    agent = meteringAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] });
    const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
    expect(await session.serverMessage(sessionCreated('gpt-realtime-2025-08-28'))).toBeUndefined();
    expect(await session.inspect(sessionUpdate('gpt-realtime-2025-09-01'), false)).toMatchObject({ action: 'close', code: 1008 });
  });
});

describe('an Azure transcription socket naming no deployment (?intent=transcription)', () => {
  const TRANSCRIPTION = '/openai/realtime?api-version=2025-04-01-preview&intent=transcription';
  const transcribingOn = (deployment: string) =>
    message({ type: 'transcription_session.update', session: { input_audio_transcription: { model: deployment } } });
  const audio = message({ type: 'input_audio_buffer.append', audio: 'AAAA' });

  it('opens, and relays no audio before its session message names a deployment', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await session.inspect(audio, false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('transcription deployment') });
    expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', status: 400, errorType: 'invalid_request' });
  });

  it('binary frames wait for the deployment too', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await session.inspect(Buffer.from([1, 2, 3, 4]), true)).toMatchObject({ action: 'close', code: 1008 });
  });

  it('relays audio once an allowed deployment is named, and configuration before that', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await agent.send(session, message({ type: 'transcription_session.update', session: { turn_detection: null } }))).toBe('forward');
    expect(await agent.send(session, transcribingOn('transcribe-prod'))).toBe('forward');
    expect(await agent.send(session, audio)).toBe('forward');
  });

  it('a deployment the key does not list closes the session', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await session.inspect(transcribingOn('transcribe-secret'), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('transcribe-secret') });
  });

  it('a model behind a deployment (a conversation session.update) names no deployment: audio still waits', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await agent.send(session, sessionUpdate('gpt-4o-transcribe'))).toBe('forward');
    expect(await session.inspect(audio, false)).toMatchObject({ action: 'close', code: 1008 });
  });

  it('a deployment named in the URL is decided there, and audio goes at once', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, `${TRANSCRIPTION}&deployment=transcribe-prod`);
    expect(await agent.send(session, audio)).toBe('forward');
  });

  it('an intent named twice is no transcription opening: refused as naming no deployment', async () => {
    agent = meteringAgent(keyOnAzure(['*']));
    await expect(agent.open(HOST, `${TRANSCRIPTION}&Intent=conversation`)).rejects.toThrow('names no deployment');
  });

  it('a transcription opening whose messages Edge would not read is refused as naming no deployment', async () => {
    const { decide, records } = websocketDecisionAgent({ bundle: bundle({}, keyOnAzure(['transcribe-prod'])), deps: () => ({ contentInspectors: undefined }) });
    expect(await decide({ host: HOST, path: TRANSCRIPTION, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('names no deployment') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request' }]);
  });

  describe('a deployment name a conversation session.update named first (held to the deny rules only) is no echo', () => {
    const ga = (deployment: string) =>
      message({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: deployment } } } } });
    it.each([
      ['beta transcription_session.update', TRANSCRIPTION, transcribingOn],
      ['GA session.update of type transcription', '/openai/v1/realtime?intent=transcription', ga],
    ])('%s: a deployment the key does not list closes the session, recorded', async (_protocol, target, transcribing) => {
      agent = meteringAgent(keyOnAzure(['transcribe-prod']));
      const session = await agent.open(HOST, target);
      expect(await agent.send(session, sessionUpdate('transcribe-secret'))).toBe('forward');
      expect(await agent.send(session, transcribing('transcribe-prod'))).toBe('forward');
      expect(await session.inspect(transcribing('transcribe-secret'), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('transcribe-secret') });
      expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', status: 403, model: 'transcribe-secret' });
    });

    it('an allowed deployment named again is still an echo', async () => {
      agent = meteringAgent(keyOnAzure(['transcribe-prod']));
      const session = await agent.open(HOST, TRANSCRIPTION);
      expect(await agent.send(session, transcribingOn('transcribe-prod'))).toBe('forward');
      expect(await agent.send(session, transcribingOn('transcribe-prod'))).toBe('forward');
      expect(await agent.send(session, audio)).toBe('forward');
    });
  });

  describe('a message naming its transcription model in two spellings', () => {
    const conversationNaming = (ga: string, beta: string) =>
      message({ type: 'session.update', session: { audio: { input: { transcription: { model: ga } } }, input_audio_transcription: { model: beta } } });
    it.each([
      ['a conversation session.update, GA and beta', conversationNaming('transcribe-prod', 'transcribe-secret')],
      ['a GA transcription session, its session.model and the beta spelling',
        message({ type: 'session.update', session: { type: 'transcription', model: 'transcribe-prod', input_audio_transcription: { model: 'transcribe-secret' } } })],
      ['a beta transcription session, both spellings',
        message({ type: 'transcription_session.update', session: { input_audio_transcription: { model: 'transcribe-prod' }, audio: { input: { transcription: { model: 'transcribe-secret' } } } } })],
    ])('naming two models is refused: %s', async (_what, data) => {
      agent = meteringAgent(keyOnAzure(['transcribe-prod']));
      const session = await agent.open(HOST, TRANSCRIPTION);
      expect(await session.inspect(data, false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('names another model than') });
      expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', status: 400, errorType: 'invalid_request' });
    });

    it('naming one model in both is read as that model', async () => {
      agent = meteringAgent(keyOnAzure(['transcribe-prod']));
      const session = await agent.open(HOST, TRANSCRIPTION);
      expect(await agent.send(session, message({ type: 'transcription_session.update', session: { input_audio_transcription: { model: 'transcribe-prod' }, audio: { input: { transcription: { model: 'transcribe-prod' } } } } }))).toBe('forward');
      expect(await agent.send(session, audio)).toBe('forward');
    });
  });

  it('a conversation session.update naming an allowed transcription model names no deployment: audio still waits', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await agent.send(session, message({ type: 'session.update', session: { input_audio_transcription: { model: 'transcribe-prod' } } }))).toBe('forward');
    expect(await session.inspect(audio, false)).toMatchObject({ action: 'close', code: 1008 });
  });

  it('records name the deployment once allowed, not a model a conversation session.update or the server named before it', async () => {
    agent = meteringAgent(keyOnAzure(['transcribe-prod']));
    const session = await agent.open(HOST, TRANSCRIPTION);
    expect(await agent.send(session, sessionUpdate('anything-i-like'))).toBe('forward');
    expect(await session.serverMessage(sessionCreated('gpt-4o-transcribe'))).toBeUndefined();
    expect(await agent.send(session, transcribingOn('transcribe-prod'))).toBe('forward');
    expect(await session.inspect(Buffer.from('not json'), false)).toMatchObject({ action: 'close' });
    expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', model: 'transcribe-prod' });
  });
});
