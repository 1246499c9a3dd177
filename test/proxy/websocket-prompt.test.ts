import { expect, it } from 'vitest';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { createWebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';

// A WebSocket message's audit record keeps its conversation as the prompt, like an HTTP request's: the
// tool definitions a Realtime session declares are scanned, not kept as prompt text.
it('a Realtime session.update is recorded with its instructions as the prompt, not its tool definitions', async () => {
  const records: ExchangeRecord[] = [];
  const inspector = createWebSocketMessageInspector({
    socket: {
      api: 'openai-realtime', host: 'api.openai.com', path: '/v1/realtime', app: 'test', provider: 'openai', model: 'gpt-realtime',
      info: { method: 'GET', host: 'api.openai.com', path: '/v1/realtime', headers: {} },
    },
    // A step that flags, so the message is recorded.
    contentInspectors: () => [() => ({ action: 'allow', notes: { flagged: true } })],
    checkModel: () => Promise.resolve({ action: 'allow' }),
    record: (record) => {
      records.push(record);
      return Promise.resolve();
    },
    maxMessageBytes: 1 << 20,
  });
  const message = {
    type: 'session.update',
    session: { type: 'realtime', instructions: 'Answer in one sentence.', tools: [{ type: 'function', name: 'deploy', description: 'Deploys the current branch to staging.', parameters: { type: 'object', properties: {} } }] },
  };
  expect(await inspector.inspect(Buffer.from(JSON.stringify(message)), false)).toEqual({ action: 'forward' });
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ decision: 'flagged', prompt: 'Answer in one sentence.' });
});
