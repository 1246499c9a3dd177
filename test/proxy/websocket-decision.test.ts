import { describe, expect, it } from 'vitest';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * The model a WebSocket message names goes through the same policy step as the opening, with the model filled
 * in, and a session counts once against its key's request limit: Gemini Live when its setup (the model) is
 * allowed, the Realtime API when it opens; a model named later counts nothing.
 */

const GEMINI_LIVE = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=AIza-test';

const agent = (requestLimit: number) => websocketDecisionAgent({
  bundle: bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }, { provider: 'gemini', weight: 1, allowed_models: ['gemini-2.5-flash-live'] }],
    rate_limit: { request_max_limit: requestLimit, request_reset_duration: '1h' },
  }),
  inspectors: [defaultGuardrails()],
});

const message = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('models named in WebSocket messages', () => {
  it('Gemini Live: a setup naming a model the key does not allow closes the session with the policy\'s message', async () => {
    const { decide, records } = agent(10);
    const opened = await decide({ host: 'generativelanguage.googleapis.com', path: GEMINI_LIVE, headers: {} });
    expect(opened.action).toBe('allow');
    const messages = opened.action === 'allow' ? opened.messages! : undefined;
    const verdict = await messages!.inspect(message({ setup: { model: 'models/gemini-2.0-flash-live-001' } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('gemini-2.0-flash-live-001') });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: 'gemini-2.0-flash-live-001' });
  });

  it('Gemini Live: nothing goes before the setup, so no text reaches a model that was never checked', async () => {
    const { decide } = agent(10);
    const opened = await decide({ host: 'generativelanguage.googleapis.com', path: GEMINI_LIVE, headers: {} });
    const messages = opened.action === 'allow' ? opened.messages! : undefined;
    const verdict = await messages!.inspect(message({ clientContent: { turns: [{ parts: [{ text: 'hi' }] }] } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('must start with its setup message') });
  });

  it('Gemini Live: a session counts once, when its setup is allowed', async () => {
    const { decide } = agent(1);
    const first = await decide({ host: 'generativelanguage.googleapis.com', path: GEMINI_LIVE, headers: {} });
    const messages = first.action === 'allow' ? first.messages! : undefined;
    expect(await messages!.inspect(message({ setup: { model: 'models/gemini-2.5-flash-live' } }), false)).toEqual({ action: 'forward' });
    const second = await decide({ host: 'generativelanguage.googleapis.com', path: GEMINI_LIVE, headers: {} });
    expect(second).toMatchObject({ action: 'block', message: expect.stringMatching(/request/i) });
  });

  it('OpenAI Realtime: a session.update naming a model is checked and counts nothing more than the opening', async () => {
    const { decide } = agent(2);
    const first = await decide({ host: 'api.openai.com', path: '/v1/realtime?model=gpt-realtime', headers: {} });
    const messages = first.action === 'allow' ? first.messages! : undefined;
    expect(await messages!.inspect(message({ type: 'session.update', session: { model: 'gpt-realtime' } }), false)).toEqual({ action: 'forward' });
    expect(await messages!.inspect(message({ type: 'session.update', session: { model: 'gpt-4o-realtime-preview' } }), false))
      .toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('gpt-4o-realtime-preview') });
    expect((await decide({ host: 'api.openai.com', path: '/v1/realtime?model=gpt-realtime', headers: {} })).action).toBe('allow');
  });

  it.each([
    ['GA session.update of a transcription session', { type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } }],
    ['beta transcription_session.update', { type: 'transcription_session.update', session: { input_audio_transcription: { model: 'gpt-4o-transcribe' } } }],
  ])('OpenAI Realtime: a transcription session runs its transcription model, held to the key\'s model rules (%s)', async (_name, event) => {
    const { decide, records } = agent(10);
    const opened = await decide({ host: 'api.openai.com', path: '/v1/realtime?intent=transcription', headers: {} });
    const messages = opened.action === 'allow' ? opened.messages! : undefined;
    expect(await messages!.inspect(message(event), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('gpt-4o-transcribe') });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: 'gpt-4o-transcribe' });
  });
});
