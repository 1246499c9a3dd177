import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { audioDone, sessionCreated, sessionUpdate } from './realtime-session-usage.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A model a client names within a live Realtime session (a session.update's model, or the transcription model it
 * configures) is checked for access only: the opening was decided and counted, so a key whose request limit is
 * reached since (by the opening and other requests) keeps its session when the client names a model the key allows,
 * while a model the key does not allow still closes it. The session's usage is charged as before. Through the
 * WebSocket decision and a real enforcer on a real counter database, wired as src/agent.ts wires them.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

const KEY: Partial<KeyInput> = {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime', 'gpt-realtime-mini', 'gpt-4o-transcribe'], blacklisted_models: ['gpt-4o-realtime-preview'] }],
  rate_limit: { request_max_limit: 2, request_reset_duration: '1h' },
};

/** A GA session.update configuring `transcription` as the model of its input audio transcriptions. */
const transcribingWith = (transcription: string) =>
  message({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: transcription } } } } });

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/** A session on gpt-realtime-mini whose key has used its two requests an hour: the opening and one HTTP request. */
async function sessionAtRequestLimit() {
  agent = meteringAgent(KEY);
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime-mini');
  expect((await agent.probe('gpt-realtime')).action).toBe('allow');
  expect(await agent.probe('gpt-realtime')).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
  return { agent, session };
}

it.each([
  ['the session\'s model', sessionUpdate('gpt-realtime')],
  ['the transcription model', transcribingWith('gpt-4o-transcribe')],
])('a key at its request limit keeps its session when a session.update names an allowed model (%s)', async (_name, update) => {
  const { agent, session } = await sessionAtRequestLimit();
  expect(await agent.send(session, update)).toBe('forward');
  expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
  // The session's usage is still charged, and closes nothing: the request limit is no reason to stop a session.
  expect(await session.serverMessage(audioDone(1000))).toBeUndefined();
  expect(agent.records.at(-1)).toMatchObject({ decision: 'forwarded', usage: { input_tokens: 1000, output_tokens: 1000 } });
  expect(agent.records.at(-1)!.costUsd).toBeGreaterThan(0);
});

it.each([
  ['the session\'s model, blacklisted', sessionUpdate('gpt-4o-realtime-preview'), 'gpt-4o-realtime-preview'],
  ['the session\'s model, not listed', sessionUpdate('gpt-4o-mini-realtime-preview'), 'gpt-4o-mini-realtime-preview'],
  ['the transcription model, not listed', transcribingWith('whisper-1'), 'whisper-1'],
])('a session.update naming a model the key does not allow still closes the session at the request limit (%s)', async (_name, update, model) => {
  const { agent, session } = await sessionAtRequestLimit();
  const verdict = await session.inspect(update, false);
  expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining(model) });
  expect(agent.records.filter((r) => r.decision === 'blocked')).toMatchObject([{ via: 'edge', status: 403, errorType: 'model_blocked', model }]);
});

it('a model named in a session.update counts nothing against the key\'s request limit', async () => {
  agent = meteringAgent(KEY);
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime-mini');
  expect(await agent.send(session, sessionUpdate('gpt-realtime'))).toBe('forward');
  expect(await agent.send(session, transcribingWith('gpt-4o-transcribe'))).toBe('forward');
  // Two requests an hour: the opening is one, the session.update none, so one HTTP request still goes and a second does not.
  expect((await agent.probe('gpt-realtime')).action).toBe('allow');
  expect(await agent.probe('gpt-realtime')).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
});

describe('a model a session.update names keeps exact names, unlike the one the server names', () => {
  // Only the alias: the server may name its releases (servedModelVerdict), a client names what it chose.
  const ALIAS_ONLY: Partial<KeyInput> = { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] };
  const RELEASE = 'gpt-realtime-2025-08-28';

  it('a session.update naming a dated release of the only model the key lists closes the session', async () => {
    agent = meteringAgent(ALIAS_ONLY);
    const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
    expect(await session.inspect(sessionUpdate(RELEASE), false)).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining(RELEASE) });
    expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: RELEASE });
  });

  it('the server saying it runs that release keeps the session', async () => {
    agent = meteringAgent(ALIAS_ONLY);
    const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
    expect(await session.serverMessage(sessionCreated(RELEASE))).toBeUndefined();
    expect(await agent.send(session, message({ type: 'response.create' }))).toBe('forward');
  });
});
