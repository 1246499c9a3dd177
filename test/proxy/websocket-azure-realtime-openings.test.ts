import { AzureOpenAI } from 'openai';
import { buildRealtimeURL } from 'openai/realtime/internal-base';
import { describe, expect, it } from 'vitest';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * On Azure the key's deployment lists hold a Realtime session through the deployment decided at its opening: the model
 * the server (or a session.update) names is the model behind one, which the key cannot list (it is held to the key's
 * deny rules only, websocket-azure-realtime-sessions.test.ts). So Edge must read the deployment as the server does (any
 * letter case, names with spaces around them), refuse an opening naming none (unless it joins an existing call on the
 * v1 route, or opens a transcription session) or one whose name a lenient server may read as another, and must not hold
 * a session.update's model to the key's deployment names. On every host Azure's OpenAI API is served from.
 */

const HOSTS = ['contoso.openai.azure.com', 'contoso.cognitiveservices.azure.com', 'contoso.services.ai.azure.com'];
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const message = (value: unknown) => Buffer.from(JSON.stringify(value));

const agentAllowing = (allowed: string[], blacklisted: string[] = []) => websocketDecisionAgent({
  bundle: bundle({}, { provider_configs: [{ provider: 'azure', weight: 1, allowed_models: allowed, blacklisted_models: blacklisted }] }),
  inspectors: [defaultGuardrails()],
});

describe.each(HOSTS)('Azure Realtime openings on %s', (host) => {
  it.each([
    ['/openai/realtime?api-version=2024-10-01-preview&Deployment=voice-secret'],
    ['/openai/realtime?api-version=2024-10-01-preview&deployment%20=voice-secret'],
    ['/openai/realtime?api-version=2024-10-01-preview&%0Adeployment=voice-secret'],
    ['/openai/v1/realtime?Model=voice-secret'],
    ['/openai/v1/realtime?MODEL%20=voice-secret'],
  ])('a deployment named in another letter case or with spaces around its name is decided: %s', async (target) => {
    const { decide, records } = agentAllowing(['voice-prod']);
    expect(await decide({ host, path: target, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('voice-secret') });
    expect(records).toMatchObject([{ decision: 'blocked', errorType: 'model_blocked', provider: 'azure', model: 'voice-secret' }]);
  });

  it('an allowed deployment so named opens, decided and recorded as that deployment', async () => {
    const { decide, records } = agentAllowing(['voice-prod']);
    const opened = await decide({ host, path: '/openai/realtime?api-version=2024-10-01-preview&Deployment=voice-prod', headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    expect(opened.messages).toBeDefined();
    await opened.upstream!({ kind: 'open' });
    expect(records).toMatchObject([{ decision: 'forwarded', status: 101, model: 'voice-prod' }]);
  });

  it.each([
    ['/openai/realtime?api-version=2024-10-01-preview&deployment=voice-prod&Deployment=voice-secret'],
    ['/openai/realtime?api-version=2024-10-01-preview&deployment=voice-prod&deployment%20=voice-secret'],
    ['/openai/v1/realtime?model=voice-prod&Model=voice-secret'],
  ])('a deployment named twice in different spellings is refused as named twice: %s', async (target) => {
    const { decide, records } = agentAllowing(['voice-prod']);
    expect(await decide({ host, path: target, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('more than once') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request' }]);
  });

  it.each([
    ['/openai/realtime?api-version=2024-10-01-preview'],
    ['/openai/realtime?api-version=2024-10-01-preview&deployment='],
    ['/openai/v1/realtime'],
    ['/openai/v1/realtime?call_id='],
    // The SDK sends call_id on the v1 route only: the preview route has no call to join.
    ['/openai/realtime?api-version=2024-10-01-preview&call_id=rtc_123'],
    // An empty deployment is no call's: a server may read it as some default.
    ['/openai/v1/realtime?model=&call_id=rtc_123'],
  ])('a Realtime opening naming no deployment is refused: %s', async (target) => {
    const { decide, records } = agentAllowing(['*']);
    expect(await decide({ host, path: target, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('names no deployment') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request', provider: 'azure' }]);
  });

  it('a sideband opening joining an existing call (?call_id=) names no deployment and still opens, read', async () => {
    const { decide, records } = agentAllowing(['voice-prod']);
    const opened = await decide({ host, path: '/openai/v1/realtime?call_id=rtc_123', headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    await opened.upstream!({ kind: 'open' });
    expect(records).toMatchObject([{ decision: 'forwarded', status: 101, model: null }]);
    expect(await opened.messages!.inspect(message({ type: 'session.update', session: { instructions: `use ${SECRET}` } }), false))
      .toMatchObject({ action: 'close', code: 1008 });
  });

  it.each([
    ['voice-secret%20'],
    ['voice-secret+'],
    ['voice-secret.'],
    ['voice-secret%0A'],
    ['voice-secret%09'],
    ['voice-secret%00'],
    ['voice-secret;x'],
    ['voice-secret%3Bx'],
    ['%20voice-secret'],
  ])('a deployment a lenient server may read as another name passes no deny rule: ?deployment=%s', async (name) => {
    const { decide, records } = agentAllowing(['*'], ['voice-secret']);
    const verdict = await decide({ host, path: `/openai/realtime?api-version=2024-10-01-preview&deployment=${name}`, headers: {} });
    expect(verdict).toMatchObject({ action: 'block', message: expect.stringContaining('name the deployment exactly') });
    expect(records).toMatchObject([{ decision: 'blocked', status: 400, errorType: 'invalid_request' }]);
  });

  it.each([['gpt-4o-realtime-preview-1001'], ['gpt-4.1-realtime'], ['Voice_Prod']])('a deployment named exactly opens: %s', async (name) => {
    const { decide } = agentAllowing(['*'], ['voice-secret']);
    expect(await decide({ host, path: `/openai/realtime?api-version=2024-10-01-preview&deployment=${name}`, headers: {} })).toMatchObject({ action: 'allow' });
  });
});

describe('the model a session.update names on Azure', () => {
  const DEPLOYMENT = 'gpt-4o-realtime-preview-1001';
  const target = `/openai/realtime?api-version=2024-10-01-preview&deployment=${DEPLOYMENT}`;
  const open = async (allowed: string[]) => {
    const agent = agentAllowing(allowed);
    const opened = await agent.decide({ host: HOSTS[0]!, path: target, headers: {} });
    if (opened.action !== 'allow') throw new Error(opened.message);
    await opened.upstream!({ kind: 'open' });
    return { ...agent, messages: opened.messages! };
  };

  it('is the model behind the deployment (the openai SDK\'s Azure example), not held to the key\'s deployments', async () => {
    const { messages, records } = await open([DEPLOYMENT]);
    const update = message({ type: 'session.update', session: { modalities: ['text'], model: 'gpt-4o-realtime-preview' } });
    expect(await messages.inspect(update, false)).toEqual({ action: 'forward' });
    expect(records.filter((r) => r.decision === 'blocked')).toEqual([]);
  });

  it('still has its text read by the guardrails', async () => {
    const { messages } = await open([DEPLOYMENT]);
    const update = message({ type: 'session.update', session: { model: 'gpt-4o-realtime-preview', instructions: `use ${SECRET}` } });
    expect(await messages.inspect(update, false)).toMatchObject({ action: 'close', code: 1008 });
  });

  // Azure wants a transcription deployment's name there, so the key's deployment list governs it as it does the opening's.
  it.each([
    ['a transcription deployment the key lists goes', [DEPLOYMENT, 'transcribe-prod'], 'transcribe-prod', 'forward'],
    ['one it does not list closes the session', [DEPLOYMENT], 'whisper-1', 'close'],
  ])('its transcription model is a deployment, held to the key: %s', async (_name, allowed, transcription, action) => {
    const { messages } = await open(allowed);
    const update = message({ type: 'session.update', session: { input_audio_transcription: { model: transcription } } });
    expect(await messages.inspect(update, false)).toMatchObject({ action });
  });
});

describe('the URLs the openai package builds for Azure Realtime', () => {
  const clients = {
    'an endpoint and a deployment': new AzureOpenAI({ apiKey: 'k', apiVersion: '2024-10-01-preview', endpoint: 'https://contoso.openai.azure.com', deployment: 'voice-prod' }),
    'a v1 base URL': new AzureOpenAI({ apiKey: 'k', apiVersion: '2024-10-01-preview', baseURL: 'https://contoso.openai.azure.com/openai/v1' }),
    'a Cognitive Services endpoint': new AzureOpenAI({ apiKey: 'k', apiVersion: '2024-10-01-preview', endpoint: 'https://contoso.cognitiveservices.azure.com/' }),
    'an AI Services endpoint': new AzureOpenAI({ apiKey: 'k', apiVersion: '2024-10-01-preview', endpoint: 'https://contoso.services.ai.azure.com' }),
  };

  it.each(Object.entries(clients))('open and are read, on the deployment or joining a call: %s', async (_name, client) => {
    for (const connection of [{ model: 'voice-prod' }, { callID: 'rtc_123' }]) {
      const url = buildRealtimeURL(client, connection);
      const { decide, records } = agentAllowing(['voice-prod']);
      const opened = await decide({ host: url.host, path: url.pathname + url.search, headers: {} });
      if (opened.action !== 'allow') throw new Error(`${url.toString()}: ${opened.message}`);
      expect(opened.messages).toBeDefined();
      await opened.upstream!({ kind: 'open' });
      expect(records).toMatchObject([{ decision: 'forwarded', model: 'model' in connection ? 'voice-prod' : null }]);
    }
  });

  it('a deployment the key does not allow, in the URL the package builds, is refused', async () => {
    const url = buildRealtimeURL(clients['an endpoint and a deployment'], { model: 'voice-secret' });
    const { decide } = agentAllowing(['voice-prod']);
    expect(await decide({ host: url.host, path: url.pathname + url.search, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('voice-secret') });
  });
});
