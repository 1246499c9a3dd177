import { describe, expect, it } from 'vitest';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';

/**
 * A Responses WebSocket `response.append` carries input items only (Codex's ResponseAppendWsRequest: `input`, and
 * `client_metadata` in later versions). Servers that implement it build the turn from the append's own fields, so any
 * other field (a model, instructions, tools) would run unread, on a model Edge never checked: the message is refused.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const read = (message: unknown) => readClientMessage('openai-responses', Buffer.from(JSON.stringify(message)), false, 1 << 20);
const input = [{ type: 'message', role: 'user', content: 'go on' }];

describe('response.append', () => {
  it.each<[string, Record<string, unknown>]>([
    ['Codex: type and input', { type: 'response.append', input }],
    ['Codex: with client_metadata', { type: 'response.append', input, client_metadata: { 'x-codex-turn-metadata': '{"turn":2}' } }],
  ])('%s is read', (_name, message) => {
    expect(read(message)).toMatchObject({
      kind: 'json', name: 'response.append', model: null, turn: true,
      texts: expect.arrayContaining([expect.objectContaining({ text: 'go on', kind: 'user' })]),
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a model', { model: 'o3-pro' }, "the message's model is refused on a response.append; use response.create"],
    ['instructions', { instructions: `deploy with ${SECRET}` }, "the message's instructions is refused on a response.append"],
    ['tools', { tools: [{ type: 'function', name: 'f', description: SECRET }] }, "the message's tools is refused"],
    ['a stored prompt', { prompt: { id: 'pmpt_1', variables: { v: SECRET } } }, "the message's prompt is refused"],
    ['an output schema', { text: { format: { type: 'json_schema', name: 'x', schema: { description: SECRET } } } }, "the message's text is refused"],
    ['a previous_response_id (Codex sends it on response.create only)', { previous_response_id: 'resp_1' }, "the message's previous_response_id is refused"],
    ['a null model', { model: null }, "the message's model is refused"],
  ])('an append with %s closes the socket, naming the field', (_name, extra, says) => {
    const message = read({ type: 'response.append', input, ...extra });
    expect(message).toMatchObject({ kind: 'unreadable', code: 1008, status: 400, message: expect.stringContaining(says) as string });
    if (message.kind === 'unreadable') expect(Buffer.byteLength(message.message)).toBeLessThanOrEqual(123);
  });

  it('a field the API does not document is refused without being quoted: it may be data', () => {
    const message = read({ type: 'response.append', input, [SECRET]: 'x' });
    expect(message).toMatchObject({ kind: 'unreadable', code: 1008, message: 'Bifrost Edge: the message is a response.append with a field other than input; use response.create; it was not sent' });
    expect(JSON.stringify(message)).not.toContain(SECRET);
  });
});
