import { afterEach, expect, it } from 'vitest';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A usage record that cannot be written (the audit outbox refusing) must not keep a session open past its key's
 * tokens: the charge and the check after it happen regardless, and the session is closed with the record's error
 * attached for the relay to log, as a close whose own record failed already is.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

it('a Realtime session is closed once its tokens are used up, though its usage records cannot be written', async () => {
  let failing = false;
  agent = meteringAgent({ rate_limit: { token_max_limit: 1000, token_reset_duration: '1h' } }, { failRecords: () => failing });
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-4o-realtime-preview');
  failing = true;
  const done = message({ type: 'response.done', response: { usage: { total_tokens: 600, input_tokens: 400, output_tokens: 200 } } });
  // Tokens left: the record's failure is reported (the relay logs it).
  await expect(session.serverMessage(done)).rejects.toThrow('the audit outbox is full');
  const close = await session.serverMessage(done);
  expect(close).toMatchObject({ code: 1008, recordError: { message: 'the audit outbox is full' } });
  expect(close!.reason).toContain("Your key 'eng-team' reached its limit of 1,000 tokens per hour (1,200 used)");
});
