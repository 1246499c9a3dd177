import { describe, expect, it } from 'vitest';
import { bifrostWebSocketRoute, webSocketVia } from '../../src/gateway/websocket-route.js';
import { usageNote } from '../../src/proxy/usage-note.js';
import { posesAsWebSocketApi, webSocketApiAt } from '../../src/proxy/websocket-api.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import type { MessageVerdict, WebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';
import { readServerUsage } from '../../src/proxy/websocket-usage.js';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * Gemini's Lyria RealTime music generation (`…GenerativeService.BidiGenerateMusic`) is read as Gemini Live is: its
 * setup's model is decided under the key's model rules before anything else goes, its weighted prompts are the
 * user's text for the guardrails, and every other string it sends is read too. It reports no usage: nothing is charged.
 */

const MUSIC = '/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic';
const HOST = 'generativelanguage.googleapis.com';
const LIMIT = 1024 * 1024;
// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';

const message = (value: unknown) => Buffer.from(JSON.stringify(value));
const read = (value: unknown) => readClientMessage('gemini-music', message(value), false, LIMIT);
const spans = (value: unknown) => {
  const reading = read(value);
  if (reading.kind !== 'json') throw new Error(`expected a JSON message, got ${JSON.stringify(reading)}`);
  return reading.texts.map((t) => ({ path: t.path.join('.'), text: t.text, kind: t.kind }));
};

describe('the Lyria RealTime path', () => {
  it.each([
    [MUSIC, MUSIC],
    [`${MUSIC}?key=AIza-test`, MUSIC],
    [MUSIC.replace('v1alpha', 'v1beta'), MUSIC.replace('v1alpha', 'v1beta')],
    [`${MUSIC.replace('BidiGenerateMusic', 'BidiGenerat%65Music')}/`, MUSIC],
  ])('%s is read as Lyria RealTime', (path, pathname) => {
    expect(webSocketApiAt('gemini', path)).toMatchObject({ api: 'gemini-music', pathname });
  });

  it('only on Gemini\'s hosts', () => {
    expect(webSocketApiAt('openai', MUSIC)).toBeUndefined();
  });

  it.each([`${MUSIC};x`, MUSIC.toLowerCase(), `${MUSIC}.`, `/x/..;${MUSIC}`])('its look-alike %s is refused', (path) => {
    expect(webSocketApiAt('gemini', path)).toBeUndefined();
    expect(posesAsWebSocketApi('gemini', path)).toBe(true);
  });

  it('goes to its origin in gateway mode, as Gemini Live does: the gateway has no route for it', () => {
    expect(bifrostWebSocketRoute('gemini', MUSIC, 'gateway')).toBeNull();
    expect(webSocketVia({ mode: 'gateway', gatewayUrl: 'https://bifrost.example.com' }, 'gemini', MUSIC)).toBe('origin');
  });
});

describe('Lyria RealTime client messages', () => {
  it('setup names the model, without its models/ prefix', () => {
    expect(read({ setup: { model: 'models/lyria-realtime-exp' } })).toMatchObject({ kind: 'json', name: 'setup', model: 'lyria-realtime-exp', texts: [] });
  });

  it.each(['clientContent', 'client_content'])('the weighted prompts of %s are the user\'s text', (key) => {
    const list = key === 'clientContent' ? 'weightedPrompts' : 'weighted_prompts';
    expect(read({ [key]: { [list]: [{ text: 'minimal techno', weight: 1 }, { text: 'cello', weight: 0.5 }] } })).toMatchObject({ name: 'clientContent', model: null });
    expect(spans({ [key]: { [list]: [{ text: 'minimal techno', weight: 1 }, { text: 'cello', weight: 0.5 }] } })).toEqual([
      { path: `${key}.${list}.0.text`, text: 'minimal techno', kind: 'user' },
      { path: `${key}.${list}.1.text`, text: 'cello', kind: 'user' },
    ]);
  });

  it('generation config and playback control: their strings are read, their numbers are not text', () => {
    expect(read({ musicGenerationConfig: { bpm: 90, density: 0.4, scale: 'C_MAJOR_A_MINOR', muteBass: true } })).toMatchObject({ name: 'musicGenerationConfig' });
    expect(spans({ music_generation_config: { bpm: 90, scale: 'C_MAJOR_A_MINOR' } })).toEqual([{ path: 'music_generation_config.scale', text: 'C_MAJOR_A_MINOR', kind: 'other' }]);
    expect(read({ playbackControl: 'PLAY' })).toMatchObject({ name: 'playbackControl', texts: [{ path: ['playbackControl'], text: 'PLAY', kind: 'other' }] });
  });

  it('nothing goes unread: unknown messages, and unknown fields of known ones, have every string read', () => {
    expect(spans({ setup: { model: 'models/lyria-realtime-exp', note: 'a' }, futureMessage: { words: ['b'] } })).toEqual([
      { path: 'setup.note', text: 'a', kind: 'other' },
      { path: 'futureMessage.words.0', text: 'b', kind: 'other' },
    ]);
    expect(spans({ clientContent: { weightedPrompts: [{ text: 'jazz', weight: 1, label: 'c' }], lyrics: 'd' } })).toEqual([
      { path: 'clientContent.weightedPrompts.0.text', text: 'jazz', kind: 'user' },
      { path: 'clientContent.weightedPrompts.0.label', text: 'c', kind: 'other' },
      { path: 'clientContent.lyrics', text: 'd', kind: 'other' },
    ]);
    expect(read({ brandNew: { x: 'e' } })).toMatchObject({ name: 'other', texts: [{ path: ['brandNew', 'x'], text: 'e', kind: 'other' }] });
  });

  it.each([
    [{ setup: {} }, 'setup.model is required'],
    [{ clientContent: { weightedPrompts: 'jazz' } }, 'clientContent.weightedPrompts'],
    [{ clientContent: { weightedPrompts: [{ text: 7 }] } }, 'clientContent.weightedPrompts[0].text'],
    [{ clientContent: { weightedPrompts: ['jazz'] } }, 'clientContent.weightedPrompts[0]'],
  ])('a malformed message is not sent: %j', (value, where) => {
    expect(read(value)).toMatchObject({ kind: 'unreadable', code: 1008, status: 400, message: expect.stringContaining(where) });
  });

  it('the server\'s messages report no usage: audio chunks, a filtered prompt and setupComplete are not metered', () => {
    const audio = { serverContent: { audioChunks: [{ data: Buffer.alloc(256, 9).toString('base64'), mimeType: 'audio/l16;rate=48000;channels=2' }] } };
    expect(readServerUsage('gemini-music', message(audio))).toBeUndefined();
    expect(readServerUsage('gemini-music', message({ setupComplete: {} }))).toBeUndefined();
    expect(readServerUsage('gemini-music', message({ filteredPrompt: { text: 'x', filteredReason: 'unsafe' } }))).toBeUndefined();
  });
});

/** Tells a verdict's hand-over that the message went upstream, as the relay does. */
const sent = async (verdict: MessageVerdict) => {
  if (verdict.action !== 'forward' || !verdict.handedOver) throw new Error(`expected a forward awaiting its hand-over, got ${JSON.stringify(verdict)}`);
  await verdict.handedOver({ sent: true });
};

describe('a Lyria RealTime session, decided', () => {
  const agent = (requestLimit = 10, allowed = ['lyria-realtime-exp']) => websocketDecisionAgent({
    bundle: bundle({}, {
      provider_configs: [{ provider: 'gemini', weight: 1, allowed_models: allowed }],
      rate_limit: { request_max_limit: requestLimit, request_reset_duration: '1h' },
    }),
    inspectors: [defaultGuardrails()],
    deps: (policy) => ({ charge: (req, usage) => usageNote(policy.recordResponseUsage(req, usage)) }),
  });
  const open = async (decide: ReturnType<typeof agent>['decide']): Promise<WebSocketMessageInspector> => {
    const opened = await decide({ host: HOST, path: `${MUSIC}?key=AIza-test`, headers: {} });
    if (opened.action !== 'allow' || !opened.messages) throw new Error(`expected a read socket, got ${JSON.stringify(opened)}`);
    return opened.messages;
  };

  it('a setup naming a model the key does not allow closes the session, recorded as Gemini Live\'s is', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    expect(await messages.inspect(message({ setup: { model: 'models/lyria-002' } }), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('lyria-002') });
    expect(records.at(-1)).toMatchObject({ path: MUSIC, decision: 'blocked', errorType: 'model_blocked', model: 'lyria-002' });
  });

  it('a key that denies lyria-realtime-exp by name closes the session at its setup', async () => {
    const { decide, records } = websocketDecisionAgent({
      bundle: bundle({}, { provider_configs: [{ provider: 'gemini', weight: 1, allowed_models: ['*'], blacklisted_models: ['lyria-realtime-exp'] }] }),
      inspectors: [defaultGuardrails()],
    });
    const messages = await open(decide);
    expect(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false)).toMatchObject({ action: 'close', code: 1008 });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: 'lyria-realtime-exp' });
  });

  it('nothing goes before the setup: a prompt first closes the session', async () => {
    const { decide } = agent();
    const messages = await open(decide);
    expect(await messages.inspect(message({ clientContent: { weightedPrompts: [{ text: 'jazz', weight: 1 }] } }), false))
      .toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('Lyria RealTime session must start with its setup message') });
    expect(await messages.inspect(message({ playbackControl: 'PLAY' }), false)).toMatchObject({ action: 'close', code: 1008 });
  });

  it('a session counts once, when its setup is allowed; a second setup naming another model is decided too', async () => {
    const { decide, records } = agent(1);
    const messages = await open(decide);
    const opened = records.length;
    const setup = await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false);
    expect(setup).toEqual({ action: 'forward', handedOver: expect.any(Function) });
    // Recorded once handed over, not before, naming the model: no usage record ever will (Lyria RealTime reports none).
    expect(records).toHaveLength(opened);
    await sent(setup);
    expect(records.slice(opened)).toEqual([expect.objectContaining({ path: MUSIC, decision: 'forwarded', model: 'lyria-realtime-exp', findings: [] })]);
    const recorded = records.length;
    expect(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false)).toEqual({ action: 'forward' });
    expect(records).toHaveLength(recorded);
    expect(await messages.inspect(message({ setup: { model: 'models/lyria-002' } }), false)).toMatchObject({ action: 'close', code: 1008 });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: 'lyria-002' });
    expect(await decide({ host: HOST, path: MUSIC, headers: {} })).toMatchObject({ action: 'block', message: expect.stringMatching(/request/i) });
  });

  it('a secret in a weighted prompt closes the session, naming where it was, never the secret', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false);
    const verdict = await messages.inspect(message({ clientContent: { weightedPrompts: [{ text: `beats for ${GITHUB_TOKEN}`, weight: 1 }] } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringMatching(/secret .* in clientContent\.weightedPrompts\[0\]\.text/) });
    expect(JSON.stringify(verdict)).not.toContain(GITHUB_TOKEN);
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'guardrail_blocked', model: 'lyria-realtime-exp', findings: [{ type: 'secret', action: 'block' }] });
  });

  it('a setup carrying a secret is blocked whole: recorded as blocked, never as allowed', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    const verdict = await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp', note: `for ${GITHUB_TOKEN}` } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringMatching(/secret .* in setup\.note/) });
    expect(records.filter((r) => r.path === MUSIC).map((r) => r.decision)).toEqual(['blocked']);
  });

  it('an email in a weighted prompt is redacted in place: the message keeps its shape, and the redaction is recorded', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false);
    const verdict = await messages.inspect(message({ client_content: { weighted_prompts: [{ text: 'songs for jane.doe@acme-corp.com', weight: 0.7 }, { text: 'piano', weight: 1 }] } }), false);
    expect(verdict.action).toBe('forward');
    const sent = JSON.parse((verdict as { data: Buffer }).data.toString('utf8')) as unknown;
    expect(sent).toEqual({ client_content: { weighted_prompts: [{ text: 'songs for [REDACTED:email]', weight: 0.7 }, { text: 'piano', weight: 1 }] } });
    expect(records.at(-1)).toMatchObject({ decision: 'redacted', model: 'lyria-realtime-exp', findings: [{ type: 'email', action: 'redact' }] });
  });

  it('its audio coming back charges nothing, and the session closes cleanly', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false);
    const before = records.length;
    expect(messages.serverMessage(message({ setupComplete: {} }))).toBeUndefined();
    expect(messages.serverMessage(message({ serverContent: { audioChunks: [{ data: Buffer.alloc(512, 1).toString('base64') }] } }))).toBeUndefined();
    await messages.closed();
    expect(records.slice(before)).toEqual([]);
  });

  it('a second setup naming another allowed model is recorded once sent, and the session\'s later records name it', async () => {
    const { decide, records } = agent(10, ['lyria-realtime-exp', 'lyria-002']);
    const messages = await open(decide);
    const opened = records.length;
    await sent(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false));
    const switched = await messages.inspect(message({ setup: { model: 'models/lyria-002' } }), false);
    expect(records).toHaveLength(opened + 1);
    await sent(switched);
    expect(records.slice(opened).map((r) => [r.decision, r.model])).toEqual([['forwarded', 'lyria-realtime-exp'], ['forwarded', 'lyria-002']]);
    // The model it switched to is the one now recorded: a setup naming it again adds nothing.
    expect(await messages.inspect(message({ setup: { model: 'models/lyria-002' } }), false)).toEqual({ action: 'forward' });
    await messages.inspect(message({ clientContent: { weightedPrompts: [{ text: 'songs for jane.doe@acme-corp.com', weight: 1 }] } }), false);
    expect(records.slice(opened).map((r) => [r.decision, r.model])).toEqual([['forwarded', 'lyria-realtime-exp'], ['forwarded', 'lyria-002'], ['redacted', 'lyria-002']]);
  });

  it('a setup whose socket closed while it was decided is recorded as not sent, and a later one naming its model is recorded', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    const opened = records.length;
    const setup = await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false);
    if (setup.action !== 'forward' || !setup.handedOver) throw new Error('expected a setup awaiting its hand-over');
    await setup.handedOver({ sent: false, errorType: 'upstream_closed' });
    expect(records.slice(opened)).toEqual([expect.objectContaining({ decision: 'failed', errorType: 'upstream_closed', model: 'lyria-realtime-exp', message: expect.stringContaining('this setup') })]);
    await sent(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false));
    expect(records.slice(opened).map((r) => r.decision)).toEqual(['failed', 'forwarded']);
  });

  it('a switch of models that was not sent leaves the session on the model last sent: later records name it', async () => {
    const { decide, records } = agent(10, ['lyria-realtime-exp', 'lyria-002']);
    const messages = await open(decide);
    const opened = records.length;
    await sent(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false));
    const switched = await messages.inspect(message({ setup: { model: 'models/lyria-002' } }), false);
    if (switched.action !== 'forward' || !switched.handedOver) throw new Error('expected a setup awaiting its hand-over');
    await switched.handedOver({ sent: false, errorType: 'upstream_not_open' });
    await messages.inspect(message({ clientContent: { weightedPrompts: [{ text: 'songs for jane.doe@acme-corp.com', weight: 1 }] } }), false);
    expect(records.slice(opened).map((r) => [r.decision, r.model])).toEqual([['forwarded', 'lyria-realtime-exp'], ['failed', 'lyria-002'], ['redacted', 'lyria-realtime-exp']]);
  });

  it('a setup whose text was redacted has one record, written once it was sent', async () => {
    const { decide, records } = agent();
    const messages = await open(decide);
    const opened = records.length;
    const setup = await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp', note: 'for jane.doe@acme-corp.com' } }), false);
    expect(setup).toMatchObject({ action: 'forward', data: expect.any(Buffer) });
    expect(records).toHaveLength(opened);
    await sent(setup);
    expect(records.slice(opened)).toEqual([expect.objectContaining({ decision: 'redacted', model: 'lyria-realtime-exp', findings: [expect.objectContaining({ type: 'email' })] })]);
  });

  describe('Lyria RealTime has no binary client messages: any binary frame closes the socket with 1003, recorded', () => {
    const prompt = message({ clientContent: { weightedPrompts: [{ text: `a song about ${GITHUB_TOKEN}`, weight: 1 }] } });
    it.each([
      ['raw bytes', Buffer.from([0x12, 0x05, 0x0a, 0x03, 0x61, 0x62, 0x63])],
      ['a form feed before JSON', Buffer.concat([Buffer.from([0x0c]), prompt])],
      ['a NUL before JSON', Buffer.concat([Buffer.from([0x00]), prompt])],
      ['a no-break space before JSON', Buffer.concat([Buffer.from([0xc2, 0xa0]), prompt])],
      ['two byte-order marks before JSON', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), prompt])],
      ['JSON itself', prompt],
    ])('%s, after an allowed setup', async (_, frame) => {
      const { decide, records } = agent();
      const messages = await open(decide);
      await sent(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), false));
      const recorded = records.length;
      const verdict = await messages.inspect(frame, true);
      expect(verdict).toEqual({ action: 'close', code: 1003, reason: expect.stringContaining('Lyria RealTime takes text messages only') });
      expect(records.slice(recorded)).toEqual([expect.objectContaining({ decision: 'blocked', status: 400, errorType: 'invalid_request', model: 'lyria-realtime-exp' })]);
    });

    it('before the setup too', async () => {
      const { decide } = agent();
      const messages = await open(decide);
      expect(await messages.inspect(message({ setup: { model: 'models/lyria-realtime-exp' } }), true)).toMatchObject({ action: 'close', code: 1003 });
    });
  });
});
