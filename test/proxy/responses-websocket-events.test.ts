import { describe, expect, it } from 'vitest';
import { readClientMessage, webSocketApiOf } from '../../src/proxy/websocket-messages.js';

/** The Responses API's WebSocket mode: which sockets speak it, and what Edge reads in each client event. */

const read = (message: unknown) => readClientMessage('openai-responses', Buffer.from(JSON.stringify(message)), false, 1 << 20);

describe('which sockets speak the Responses API', () => {
  it.each([
    ['openai', '/v1/responses', 'openai-responses'],
    ['openai', '/v1/responses/', 'openai-responses'],
    ['openai', '/v1/responses?model=gpt-5-mini', 'openai-responses'],
    ['openai', '/v1/responses/resp_1', undefined],
    ['anthropic', '/v1/responses', undefined],
  ])('%s %s → %s', (provider, path, api) => {
    expect(webSocketApiOf(provider, path)).toBe(api);
  });
});

describe('Responses client events', () => {
  it('response.create is read as a POST /v1/responses body: model, instructions, input, tool definitions', () => {
    const message = read({
      type: 'response.create', model: 'gpt-5-mini', instructions: 'be brief', previous_response_id: 'resp_1',
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }, { type: 'function_call_output', call_id: 'c1', output: 'rows: 3' }],
      tools: [{ type: 'function', name: 'lookup', description: 'Looks a row up', parameters: { type: 'object', properties: {} } }],
    });
    expect(message).toMatchObject({ kind: 'json', name: 'response.create', model: 'gpt-5-mini', turn: true, tools: [{ name: 'lookup', kind: 'definition' }] });
    if (message.kind !== 'json') return;
    expect(message.texts.map((t) => [t.path.join('.'), t.kind])).toEqual([
      ['instructions', 'system'], ['input.0.content.0.text', 'user'], ['input.1.output', 'tool_result'], ['tools.0.description', 'tool_definition'],
    ]);
  });

  it('response.create with a stored prompt may leave the model to it', () => {
    expect(read({ type: 'response.create', prompt: { id: 'pmpt_1', variables: { city: 'Paris' } } })).toMatchObject({ kind: 'json', model: null, turn: true, texts: [{ text: 'Paris' }] });
  });

  it('response.append is read as input items, naming no model', () => {
    expect(read({ type: 'response.append', input: [{ type: 'message', role: 'user', content: 'more' }] }))
      .toMatchObject({ kind: 'json', name: 'response.append', model: null, turn: true, texts: [{ text: 'more', kind: 'user' }] });
  });

  it('response.processed (Codex\'s acknowledgement on a reused socket) is relayed: no turn, no model, no text', () => {
    expect(read({ type: 'response.processed', response_id: 'resp_1' }))
      .toMatchObject({ kind: 'json', name: 'response.processed', model: null, turn: false, texts: [], tools: [] });
  });

  it('response.inject (the multi-agent beta: input for the active response) is read as input items; no turn, no model', () => {
    const message = read({ type: 'response.inject', response_id: 'resp_1', input: [{ type: 'function_call_output', call_id: 'call_1', output: '{"temperature":72}' }] });
    expect(message).toMatchObject({ kind: 'json', name: 'response.inject', model: null, turn: false, texts: [{ text: '{"temperature":72}', kind: 'tool_result' }] });
    if (message.kind === 'json') expect(message.texts.map((t) => t.path.join('.'))).toEqual(['input.0.output']);
  });

  it.each<[string, unknown, string]>([
    ['a response.inject without its response_id', { type: 'response.inject', input: [] }, 'response_id is required'],
    ['a response.inject without input', { type: 'response.inject', response_id: 'resp_1' }, 'input is required'],
    ['a response.inject carrying a model', { type: 'response.inject', response_id: 'resp_1', input: [], model: 'o3-pro' }, 'field other than response_id and input'],
    ['a response.processed without its response_id', { type: 'response.processed' }, 'response_id is required'],
    ['a response.processed carrying more than its response_id', { type: 'response.processed', response_id: 'resp_1', input: 'hi' }, 'field other than response_id'],
    ['a response.create without a model', { type: 'response.create', input: 'hi' }, 'model is required'],
    ['a model that is not a string', { type: 'response.create', model: 7, input: 'hi' }, 'model must be a string'],
    ['a type the API does not define', { type: 'response.steer', input: 'hi' }, 'type is not a Responses client event'],
    ['no type', { model: 'gpt-5-mini', input: 'hi' }, 'type is required'],
    ['a response.append without input', { type: 'response.append' }, 'input is required'],
    // Go servers (the Bifrost gateway) match field names regardless of case: Edge would not read what they do.
    ['a field spelled in another case', { type: 'response.create', model: 'gpt-5-mini', Input: 'hi' }, '"Input", which servers read as "input"'],
    ['a field given in two cases', { type: 'response.create', model: 'gpt-5-mini', MODEL: 'o3-pro' }, '"model" and "MODEL" differing only in case'],
  ])('%s is refused with the socket closed', (_name, message, says) => {
    expect(read(message)).toMatchObject({ kind: 'unreadable', code: 1008, message: expect.stringContaining(says) as string });
  });
});
