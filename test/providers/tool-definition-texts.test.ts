import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { readRealtimeClientEvent } from '../../src/providers/realtime-events.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import type { TextSpan } from '../../src/providers/types.js';
import { expectParsed, req, spanTextAt } from './support.js';

/**
 * A tool definition's description and parameter schema reach the model like a prompt does, so every adapter
 * reads them as `tool_definition` texts, at the exact path of each string (the guardrails redact there), with
 * the strings of one definition in one group (the guardrails remember a repeated definition as one).
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function definitionTexts(host: string, path: string, body: unknown): TextSpan[] {
  const recognized = recognizeRequest(req('POST', host, path, { 'content-type': 'application/json' }), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error(`POST ${host}${path} not recognised`);
  const request = expectParsed(parseRequest(recognized, JSON.stringify(body)));
  return request.texts.filter((span) => span.kind === 'tool_definition');
}

/** [path, text] of each span; and each span's text is the string at its path. */
function located(body: unknown, spans: TextSpan[]): Array<[string, string]> {
  for (const span of spans) expect(spanTextAt(body, span), `text at ${JSON.stringify(span.path)}`).toBe(span.text);
  return spans.map((span) => [span.path.join('.'), span.text]);
}

// A `type` naming a JSON Schema type carries nothing of the user's and is left out; every other string is read, and
// so is every property name (its span points at the `properties` object holding it), but no keyword of JSON Schema.
const schema = { type: 'object', properties: { to: { type: ['string', 'null'], description: 'Recipient, e.g. ops@acme.test', enum: ['a', 'b'] } }, required: ['to'] };
const schemaTexts = (prefix: string): Array<[string, string]> => [
  [`${prefix}.properties`, 'to'],
  [`${prefix}.properties.to.description`, 'Recipient, e.g. ops@acme.test'],
  [`${prefix}.properties.to.enum.0`, 'a'],
  [`${prefix}.properties.to.enum.1`, 'b'],
  [`${prefix}.required.0`, 'to'],
];
const messages = [{ role: 'user', content: 'hi' }];

describe('tool definitions are read as text', () => {
  it.each([
    [
      'OpenAI chat: a function tool', 'api.openai.com', '/v1/chat/completions',
      { model: 'gpt-4o', messages, tools: [{ type: 'function', function: { name: 'mail', description: 'Sends mail', parameters: schema } }] },
      [['tools.0.function.description', 'Sends mail'], ...schemaTexts('tools.0.function.parameters')],
    ],
    [
      'OpenAI chat: a custom tool with a grammar', 'api.openai.com', '/v1/chat/completions',
      { model: 'gpt-5', messages, tools: [{ type: 'custom', custom: { name: 'sql', description: 'Runs SQL', format: { type: 'grammar', syntax: 'lark', definition: 'start: "SELECT"' } } }] },
      [['tools.0.custom.description', 'Runs SQL'], ['tools.0.custom.format.type', 'grammar'], ['tools.0.custom.format.syntax', 'lark'], ['tools.0.custom.format.definition', 'start: "SELECT"']],
    ],
    [
      'OpenAI chat: legacy functions', 'api.openai.com', '/v1/chat/completions',
      { model: 'gpt-4o', messages, functions: [{ name: 'mail', description: 'Sends mail', parameters: schema }] },
      [['functions.0.description', 'Sends mail'], ...schemaTexts('functions.0.parameters')],
    ],
    [
      'OpenAI-compatible (Mistral chat)', 'api.mistral.ai', '/v1/chat/completions',
      { model: 'mistral-large-latest', messages, tools: [{ type: 'function', function: { name: 'mail', description: 'Sends mail' } }] },
      [['tools.0.function.description', 'Sends mail']],
    ],
    [
      'OpenAI Responses: a function tool (a hosted tool has no description)', 'api.openai.com', '/v1/responses',
      { model: 'gpt-4o', input: 'hi', tools: [{ type: 'web_search' }, { type: 'function', name: 'mail', description: 'Sends mail', parameters: schema }] },
      [['tools.1.description', 'Sends mail'], ...schemaTexts('tools.1.parameters')],
    ],
    [
      'OpenAI Assistants', 'api.openai.com', '/v1/assistants',
      { model: 'gpt-4o', tools: [{ type: 'function', function: { name: 'refund', description: 'Refunds an order' } }] },
      [['tools.0.function.description', 'Refunds an order']],
    ],
    [
      'OpenAI Realtime client secret', 'api.openai.com', '/v1/realtime/client_secrets',
      { session: { type: 'realtime', model: 'gpt-realtime', tools: [{ type: 'function', name: 'mail', description: 'Sends mail' }] } },
      [['session.tools.0.description', 'Sends mail']],
    ],
    [
      'Mistral Conversations', 'api.mistral.ai', '/v1/conversations',
      { model: 'mistral-medium-latest', inputs: 'hi', tools: [{ type: 'function', function: { name: 'mail', description: 'Sends mail' } }] },
      [['tools.0.function.description', 'Sends mail']],
    ],
    [
      'Anthropic: a client tool (a server tool carries no text)', 'api.anthropic.com', '/v1/messages',
      { model: 'claude-sonnet-4-5', max_tokens: 10, messages, tools: [{ name: 'mail', description: 'Sends mail', input_schema: schema }, { type: 'web_search_20250305', name: 'web_search', max_uses: 2 }] },
      [['tools.0.description', 'Sends mail'], ...schemaTexts('tools.0.input_schema')],
    ],
    [
      'Anthropic: a batch request', 'api.anthropic.com', '/v1/messages/batches',
      { requests: [{ custom_id: 'a', params: { model: 'claude-sonnet-4-5', max_tokens: 10, messages, tools: [{ name: 'mail', description: 'Sends mail' }] } }] },
      [['requests.0.params.tools.0.description', 'Sends mail']],
    ],
    [
      'Gemini: declarations in both spellings, with their JSON schemas', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent',
      {
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        tools: [
          { functionDeclarations: [{ name: 'mail', description: 'Sends mail', parameters: { type: 'OBJECT', format: 'enum' } }] },
          { function_declarations: [{ name: 'find', description: 'Finds', parameters_json_schema: { type: 'object', title: 'Query' }, responseJsonSchema: { description: 'the hits' } }] },
        ],
      },
      [
        ['tools.0.functionDeclarations.0.description', 'Sends mail'], ['tools.0.functionDeclarations.0.parameters.format', 'enum'],
        ['tools.1.function_declarations.0.description', 'Finds'], ['tools.1.function_declarations.0.parameters_json_schema.title', 'Query'],
        ['tools.1.function_declarations.0.responseJsonSchema.description', 'the hits'],
      ],
    ],
  ] as const)('%s', (_name, host, path, body, expected) => {
    expect(located(body, definitionTexts(host, path, body))).toEqual(expected);
  });

  it('a Realtime session.update event over the WebSocket', () => {
    const event = { type: 'session.update', session: { type: 'realtime', tools: [{ type: 'function', name: 'mail', description: 'Sends mail' }] } };
    const spans = readRealtimeClientEvent(event).extraction.texts.filter((span) => span.kind === 'tool_definition');
    expect(located(event, spans)).toEqual([['session.tools.0.description', 'Sends mail']]);
    expect(spans[0]!.group).toBeDefined();
  });

  it('puts the strings of one definition in one group, and each definition in its own', () => {
    const body = { model: 'gpt-4o', messages, tools: ['mail', 'page'].map((name) => ({ type: 'function', function: { name, description: `${name} someone`, parameters: schema } })) };
    const spans = definitionTexts('api.openai.com', '/v1/chat/completions', body);
    const groups = [...new Set(spans.map((span) => span.group))];
    expect(groups).toHaveLength(2);
    expect(groups.every((group) => group !== undefined)).toBe(true);
    expect(spans.filter((span) => span.group === groups[0]).every((span) => span.path[1] === 0)).toBe(true);
    expect(spans.filter((span) => span.group === groups[1]).every((span) => span.path[1] === 1)).toBe(true);
  });
});
