import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import type { TextSpan } from '../../src/providers/types.js';
import { expectParsed, req, spanTextAt } from './support.js';

/**
 * A structured-output schema (the shape the answer must take) goes to the model with its descriptions, enum
 * values and defaults, like a tool's parameters: every adapter reads its strings as `output_schema` texts at
 * their exact paths, one group per schema.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

function schemaTexts(host: string, path: string, body: unknown): Array<[string, string]> {
  const recognized = recognizeRequest(req('POST', host, path, { 'content-type': 'application/json' }), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error(`POST ${host}${path} not recognised`);
  const spans: TextSpan[] = expectParsed(parseRequest(recognized, JSON.stringify(body))).texts.filter((span) => span.kind === 'output_schema');
  for (const span of spans) expect(spanTextAt(body, span), `text at ${JSON.stringify(span.path)}`).toBe(span.text);
  expect(spans.every((span) => span.group !== undefined)).toBe(true);
  return spans.map((span) => [span.path.join('.'), span.text]);
}

// Its property names are read too (a span at the object holding them), its keywords are not.
const schema = { type: 'object', properties: { contact: { type: 'string', description: 'Who to write to, e.g. ops@acme.test' } } };
const messages = [{ role: 'user', content: 'hi' }];

describe('structured-output schemas are read as text', () => {
  it.each([
    [
      'OpenAI chat: response_format.json_schema', 'api.openai.com', '/v1/chat/completions',
      { model: 'gpt-4o', messages, response_format: { type: 'json_schema', json_schema: { name: 'Note', description: 'A note to file', schema } } },
      [['response_format.json_schema.description', 'A note to file'], ['response_format.json_schema.schema.properties', 'contact'], ['response_format.json_schema.schema.properties.contact.description', 'Who to write to, e.g. ops@acme.test']],
    ],
    ['OpenAI chat: json_object has no schema', 'api.openai.com', '/v1/chat/completions', { model: 'gpt-4o', messages, response_format: { type: 'json_object' } }, []],
    [
      'OpenAI Responses: text.format', 'api.openai.com', '/v1/responses',
      { model: 'gpt-4o', input: 'hi', text: { format: { type: 'json_schema', name: 'Note', schema } } },
      [['text.format.schema.properties', 'contact'], ['text.format.schema.properties.contact.description', 'Who to write to, e.g. ops@acme.test']],
    ],
    [
      'Anthropic: output_config.format and the beta output_format', 'api.anthropic.com', '/v1/messages',
      { model: 'claude-sonnet-4-5', max_tokens: 10, messages, output_config: { format: { type: 'json_schema', schema } }, output_format: { type: 'json_schema', schema } },
      [['output_config.format.schema.properties', 'contact'], ['output_config.format.schema.properties.contact.description', 'Who to write to, e.g. ops@acme.test'], ['output_format.schema.properties', 'contact'], ['output_format.schema.properties.contact.description', 'Who to write to, e.g. ops@acme.test']],
    ],
    [
      'Gemini: generationConfig.responseJsonSchema', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent',
      { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { responseMimeType: 'application/json', responseJsonSchema: schema } },
      [['generationConfig.responseJsonSchema.properties', 'contact'], ['generationConfig.responseJsonSchema.properties.contact.description', 'Who to write to, e.g. ops@acme.test']],
    ],
    [
      'Gemini: generation_config.response_schema', 'generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent',
      { contents: [{ parts: [{ text: 'hi' }] }], generation_config: { response_schema: { type: 'OBJECT', description: 'A note' } } },
      [['generation_config.response_schema.description', 'A note']],
    ],
  ] as const)('%s', (_name, host, path, body, expected) => {
    expect(schemaTexts(host, path, body)).toEqual(expected);
  });
});
