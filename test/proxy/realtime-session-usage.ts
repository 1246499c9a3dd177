import { expect } from 'vitest';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { message, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * What the Realtime session pricing tests say to a metering agent's session, and read back of its charge: the
 * server's usage events, the client's session.update, and the list prices they are charged at.
 */

/** A response.done of `tokens` audio tokens in and as many out. */
export const audioDone = (tokens: number): Buffer => message({
  type: 'response.done',
  response: {
    id: 'resp_1', status: 'completed',
    usage: {
      total_tokens: 2 * tokens, input_tokens: tokens, output_tokens: tokens,
      input_token_details: { text_tokens: 0, audio_tokens: tokens }, output_token_details: { text_tokens: 0, audio_tokens: tokens },
    },
  },
});

/** A response.done of `tokens` text tokens in and as many out: a speech model's text is where an unknown name's fallback price is dearest. */
export const textDone = (tokens: number): Buffer => message({
  type: 'response.done',
  response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 2 * tokens, input_tokens: tokens, output_tokens: tokens } },
});

/** The server's session.created, naming the model it runs. */
export const sessionCreated = (model: string): Buffer =>
  message({ type: 'session.created', event_id: 'ev_1', session: { type: 'realtime', object: 'realtime.session', id: 'sess_1', model } });

/** The client's session.update naming `model`. */
export const sessionUpdate = (model: string): Buffer => message({ type: 'session.update', session: { type: 'realtime', model } });

/** gpt-realtime's list audio rates on 1,000 tokens each way: $32 in, $64 out per Mtok. */
export const GPT_REALTIME_AUDIO = (1000 * 32 + 1000 * 64) / 1e6;
/** gpt-realtime's list text rates on 1,000 tokens each way: $4 in, $16 out per Mtok. */
export const GPT_REALTIME_TEXT = (1000 * 4 + 1000 * 16) / 1e6;
/** gpt-realtime-mini's list audio rates on 1,000 tokens each way: $10 in, $20 out. */
export const MINI_AUDIO = (1000 * 10 + 1000 * 20) / 1e6;

/** A Realtime session opened on api.openai.com at `target` whose client then names each of `named` in a session.update. */
export async function realtimeSessionNaming(agent: MeteringAgent, target: string, ...named: string[]): ReturnType<MeteringAgent['open']> {
  const session = await agent.open('api.openai.com', target);
  for (const model of named) await agent.send(session, sessionUpdate(model));
  return session;
}

/**
 * The agent's last record is charged `costUsd` (to 12 decimals, as float sums of rates are) and, when `expected` is
 * given, matches it.
 */
export function expectLastCharge(agent: MeteringAgent, costUsd: number, expected?: Partial<ExchangeRecord>): void {
  if (expected) expect(agent.records.at(-1)).toMatchObject(expected);
  expect(agent.records.at(-1)!.costUsd).toBeCloseTo(costUsd, 12);
}
