import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseJsonBody } from '../../src/providers/json-body.js';
import { findFoldedKey, foldKey } from '../../src/providers/json-key-folding.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { countedJson } from '../support/counted-json.js';
import { expectFailed, expectParsed, req, textsOf, toolsOf } from './support.js';

/**
 * The Bifrost gateway (Go) matches JSON keys to struct fields regardless of letter case, `ſ` (U+017F) counting as
 * `s` and the Kelvin sign (U+212A) as `k`, the later key winning; Edge reads keys exactly. A body whose keys the two
 * would read differently at a struct level is refused; free-form maps (schemas, tool arguments, metadata) keep
 * whatever keys their users chose.
 */

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

const OPENAI_CHAT = ['api.openai.com', '/v1/chat/completions'] as const;
const OPENAI_RESPONSES = ['api.openai.com', '/v1/responses'] as const;
const ANTHROPIC = ['api.anthropic.com', '/v1/messages'] as const;
const GEMINI = ['generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent'] as const;
const REALTIME_TRANSCRIPTION = ['api.openai.com', '/v1/realtime/transcription_sessions'] as const;
const REALTIME_CLIENT_SECRET = ['api.openai.com', '/v1/realtime/client_secrets'] as const;

function parse([host, path]: readonly [string, string], body: unknown): ParseResult {
  const recognized = recognizeRequest(req('POST', host, path, { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)));
}

const MCP_HOST = 'mcp.example.test';
const mcpResolver = createProviderResolver([MCP_HOST]);

/** Parses a body POSTed to an MCP endpoint the way the proxy does. */
function parseMcp(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' }): ParseResult {
  const resolution = mcpResolver.resolve(req('POST', MCP_HOST, '/mcp', headers));
  if (resolution.kind !== 'recognized') throw new Error('not recognised as MCP');
  return resolution.parse(Buffer.from(JSON.stringify(body)));
}

const chat = (extra: Record<string, unknown>) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });
const claude = (extra: Record<string, unknown>) => ({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...extra });
const secretMessages = [{ role: 'user', content: `deploy with ${SECRET}` }];

describe('foldKey: keys as Go compares them', () => {
  it.each([
    ['messages', 'messages'],
    ['MESSAGES', 'messages'],
    ['Messages', 'messages'],
    ['systemInstruction', 'systeminstruction'],
    ['me\u017f\u017fages', 'messages'],
    ['\u212Aey', 'key'],
    ['tool_calls_2', 'tool_calls_2'],
    ['\u03A3\u03C3\u03C2', '\u03C3\u03C3\u03C3'],
    // No simple fold onto ASCII: the dotless i, the sharp s (SS is two letters), the dotted capital I.
    ['\u0131d', '\u0131d'],
    ['stra\u00DFe', 'stra\u00DFe'],
    ['\u0130d', '\u0130d'],
  ])('%j → %j', (key, folded) => {
    expect(foldKey(key)).toBe(folded);
  });
});

describe('bodies whose keys a case-insensitive gateway reads otherwise are refused', () => {
  it.each([
    ['OpenAI chat: messages and MESSAGES', OPENAI_CHAT, chat({ MESSAGES: secretMessages }), /both "messages" and "MESSAGES" in the request body/],
    ['OpenAI chat: MESSAGES first, then messages', OPENAI_CHAT, { model: 'gpt-4o', MESSAGES: secretMessages, messages: [{ role: 'user', content: 'hi' }] }, /both "MESSAGES" and "messages"/],
    ['OpenAI chat: only Messages', OPENAI_CHAT, { model: 'gpt-4o', Messages: secretMessages }, /the key "Messages" in the request body.*Spell it exactly "messages"/],
    ['OpenAI chat: content and Content in a message', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi', Content: SECRET }] }, /both "content" and "Content" in messages\[0\]/],
    ['OpenAI chat: meſſages (long s)', OPENAI_CHAT, chat({ 'me\u017f\u017fages': secretMessages }), /both "messages" and "me\\u017f\\u017fages"/],
    ['OpenAI chat: text and TEXT in a content part', OPENAI_CHAT, { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', TEXT: SECRET }] }] }, /in messages\[0\]\.content\[0\]/],
    ['OpenAI chat: a tool call named twice', OPENAI_CHAT, chat({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{}', NAME: 'delete_repo' } }] }] }), /in messages\[0\]\.tool_calls\[0\]\.function/],
    ['OpenAI chat: a tool definition under Function', OPENAI_CHAT, chat({ tools: [{ type: 'function', Function: { name: 'delete_repo', parameters: {} } }] }), /the key "Function" in tools\[0\]/],
    ['OpenAI chat: the model twice', OPENAI_CHAT, chat({ MODEL: 'o1-pro' }), /both "model" and "MODEL"/],
    ['OpenAI chat: STREAM', OPENAI_CHAT, chat({ STREAM: true }), /the key "STREAM"/],
    ['Responses: input and INPUT', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', INPUT: SECRET }, /both "input" and "INPUT"/],
    ['Responses: only Input', OPENAI_RESPONSES, { model: 'gpt-4o', Input: SECRET }, /the key "Input" in the request body/],
    ['Responses: instructions spelled with a long s', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', 'in\u017ftructions': SECRET }, /the key "in\\u017ftructions"/],
    ['Responses: an input item\'s Content', OPENAI_RESPONSES, { model: 'gpt-4o', input: [{ type: 'message', role: 'user', Content: [{ type: 'input_text', text: SECRET }] }] }, /in input\[0\]/],
    ['Responses: an input_text part\'s Text', OPENAI_RESPONSES, { model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi', Text: SECRET }] }] }, /in input\[0\]\.content\[0\]/],
    ['Anthropic: messages and MESSAGES', ANTHROPIC, claude({ MESSAGES: secretMessages }), /both "messages" and "MESSAGES"/],
    ['Anthropic: System', ANTHROPIC, claude({ System: SECRET }), /the key "System"/],
    ['Anthropic: a text block\'s Text', ANTHROPIC, claude({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', Text: SECRET }] }] }), /in messages\[0\]\.content\[0\]/],
    ['Anthropic: a tool_use block named twice', ANTHROPIC, claude({ messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read', Name: 'delete_repo', input: {} }] }] }), /both "name" and "Name"/],
    ['Anthropic: a tool_result block\'s Content', ANTHROPIC, claude({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', Content: SECRET }] }] }), /the key "Content"/],
    ['Anthropic: two keys equal but for a Kelvin sign', ANTHROPIC, claude({ tools: [{ name: 'read', input_schema: {}, type: 'custom', 'tool\u212A': 1, toolk: 2 }] }), /two keys in tools\[0\] that differ only in letter case \(not quoted here/],
    ['Gemini: contents and Contents', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], Contents: [{ parts: [{ text: SECRET }] }] }, /both "contents" and "Contents"/],
    ['Gemini: a part\'s TEXT', GEMINI, { contents: [{ parts: [{ text: 'hi', TEXT: SECRET }] }] }, /in contents\[0\]\.parts\[0\]/],
    ['Gemini: systeminstruction, lower case', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], systeminstruction: { parts: [{ text: SECRET }] } }, /the key "systeminstruction".*"systemInstruction"/],
    ['Gemini: a Parts list in the system instruction', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], systemInstruction: { Parts: [{ text: SECRET }] } }, /in systemInstruction/],
    ['Gemini: a functionCall\'s Name', GEMINI, { contents: [{ role: 'model', parts: [{ functionCall: { name: 'read', Name: 'delete_repo', args: {} } }] }] }, /in contents\[0\]\.parts\[0\]\.functionCall/],
    ['Realtime: a transcription session\'s Prompt', REALTIME_TRANSCRIPTION, { input_audio_transcription: { model: 'gpt-4o-transcribe', Prompt: SECRET } }, /the key "Prompt" in input_audio_transcription/],
    ['Realtime: a client secret\'s audio.input.transcription.Prompt', REALTIME_CLIENT_SECRET, { session: { type: 'realtime', model: 'gpt-realtime', audio: { input: { transcription: { model: 'gpt-4o-transcribe', Prompt: SECRET } } } } }, /the key "Prompt" in session\.audio\.input\.transcription/],
    // Structured outputs: the schema the answer must follow is read as text, so its holder is a struct level too.
    ['Responses: text.format.Schema', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', text: { format: { type: 'json_schema', name: 'x', Schema: { description: SECRET } } } }, /the key "Schema" in text\.format.*"schema"/],
    ['Responses: text.format with schema and SCHEMA', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', text: { format: { type: 'json_schema', name: 'x', schema: {}, SCHEMA: { description: SECRET } } } }, /both "schema" and "SCHEMA" in text\.format/],
    ['Responses: text.Format', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', text: { Format: { type: 'json_schema', name: 'x', schema: { description: SECRET } } } }, /the key "Format" in text/],
    ['Responses: a custom tool\'s Format (its grammar)', OPENAI_RESPONSES, { model: 'gpt-4o', input: 'hi', tools: [{ type: 'custom', name: 'sql', Format: { type: 'grammar', syntax: 'lark', definition: SECRET } }] }, /the key "Format" in tools\[0\]/],
    ['OpenAI chat: response_format.json_schema.Schema', OPENAI_CHAT, chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', Schema: { description: SECRET } } } }), /the key "Schema" in response_format\.json_schema/],
    ['OpenAI chat: response_format.JSON_Schema', OPENAI_CHAT, chat({ response_format: { type: 'json_schema', JSON_Schema: { name: 'x', schema: { description: SECRET } } } }), /the key "JSON_Schema" in response_format/],
    ['OpenAI chat: Response_Format', OPENAI_CHAT, chat({ Response_Format: { type: 'json_schema', json_schema: { name: 'x', schema: { description: SECRET } } } }), /the key "Response_Format" in the request body/],
    ['Anthropic: output_config.format.Schema', ANTHROPIC, claude({ output_config: { format: { type: 'json_schema', Schema: { description: SECRET } } } }), /the key "Schema" in output_config\.format/],
    ['Anthropic: output_config.Format', ANTHROPIC, claude({ output_config: { Format: { type: 'json_schema', schema: { description: SECRET } } } }), /the key "Format" in output_config/],
    ['Anthropic: Output_Format (beta)', ANTHROPIC, claude({ Output_Format: { type: 'json_schema', schema: { description: SECRET } } }), /the key "Output_Format"/],
    ['Anthropic: a tool\'s Input_Schema', ANTHROPIC, claude({ tools: [{ name: 'read', Input_Schema: { description: SECRET } }] }), /the key "Input_Schema" in tools\[0\]/],
    ['Gemini: generationConfig.ResponseSchema', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { ResponseSchema: { description: SECRET } } }, /the key "ResponseSchema" in generationConfig/],
    ['Gemini: generation_config.Response_Json_Schema', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], generation_config: { Response_Json_Schema: { description: SECRET } } }, /the key "Response_Json_Schema" in generation_config/],
    ['Gemini: GenerationConfig', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], GenerationConfig: { responseSchema: { description: SECRET } } }, /the key "GenerationConfig"/],
    ['Gemini: a declaration\'s ParametersJsonSchema', GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], tools: [{ functionDeclarations: [{ name: 'f', ParametersJsonSchema: { description: SECRET } }] }] }, /the key "ParametersJsonSchema"/],
    ['Gemini: inlineData\'s MimeType', GEMINI, { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', MimeType: 'text/plain', data: 'aGk=' } }] }] }, /both "mimeType" and "MimeType"/],
  ])('%s', (_name, route, body, message) => {
    const error = expectFailed(parse(route, body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/regardless of letter case/);
    expect(error.message).not.toContain(SECRET);
  });

  const gateway = 'the Bifrost gateway, like any Go server, matches field names regardless of letter case (the long s U+017F counting as s, the Kelvin sign U+212A as k)';

  it('a key that is no field Edge knows is not quoted: it may be data', () => {
    const error = expectFailed(parse(OPENAI_CHAT, chat({ [SECRET]: 1, [SECRET.toLowerCase()]: 2 })));
    expect(error.message).toBe('The request body of POST /v1/chat/completions has two keys in the request body that differ only in letter case (not quoted '
      + `here: they are no field Edge reads, so they may be data): ${gateway}, so it takes them for one field and could read another value than the one `
      + 'Bifrost Edge inspected. Send each field once, spelled exactly as the API documents it, and send the request again.');
    expect(error.message.toLowerCase()).not.toContain(SECRET.toLowerCase());
  });

  it('the messages say what happened and what to do', () => {
    expect(expectFailed(parse(OPENAI_CHAT, chat({ MESSAGES: secretMessages })))).toEqual({
      status: 400,
      type: 'invalid_request',
      provider: 'openai',
      message: `The request body of POST /v1/chat/completions has both "messages" and "MESSAGES" in the request body: ${gateway}, so it takes them for one `
        + 'field and could read another value than the one Bifrost Edge inspected. Send each field once, spelled exactly as the API documents it ("messages"), '
        + 'and send the request again.',
    });
    expect(expectFailed(parse(OPENAI_RESPONSES, { model: 'gpt-4o', Input: SECRET })).message).toBe('The request body of POST /v1/responses has the key '
      + `"Input" in the request body, the field "input" spelled otherwise: ${gateway}, so it reads the key as "input", which Bifrost Edge inspects only `
      + 'when spelled exactly. Spell it exactly "input" and send the request again.');
  });

  it('a Gemini refusal names the model of the path', () => {
    expect(expectFailed(parse(GEMINI, { contents: [{ parts: [{ text: 'hi', TEXT: SECRET }] }] }))).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-flash' });
  });
});

describe('keys users choose in free-form maps pass, whatever their case', () => {
  const schema = {
    type: 'object',
    properties: { Content: { type: 'string' }, content: { type: 'string' }, Text: { type: 'string' }, Messages: { type: 'array', items: { type: 'object', properties: { Role: { type: 'string' } } } } },
    required: ['Content'],
    $defs: { Model: { type: 'string' } },
  };
  /** The spans of `schema`: its property and definition names (not its keywords), and its `required` entry. */
  const schemaNames = (kind: string): Array<[string, string]> =>
    ['Content', 'content', 'Text', 'Messages', 'Role', 'Content', 'Model'].map((text) => [kind, text]);

  it('OpenAI chat: tools with a Content property, a response_format schema, metadata and logit_bias', () => {
    const request = expectParsed(parse(OPENAI_CHAT, chat({
      tools: [{ type: 'function', function: { name: 'save_note', description: 'Saves a note', parameters: schema, strict: true } }],
      response_format: { type: 'json_schema', json_schema: { name: 'Note', schema } },
      metadata: { Title: 'x', title: 'y', Model: 'z' },
      logit_bias: { '50256': -100 },
      messages: [
        { role: 'user', content: 'save it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'save_note', arguments: '{"Content":"a","content":"b"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'saved' },
      ],
    })));
    expect(toolsOf(request)).toEqual([['call', 'save_note'], ['result', 'save_note'], ['definition', 'save_note']]);
  });

  it('OpenAI chat: arguments sent as an object keep their keys', () => {
    const request = expectParsed(parse(['api.groq.com', '/openai/v1/chat/completions'], chat({
      messages: [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'note', arguments: { Text: 'a', text: 'b' } } }] }],
    })));
    expect(textsOf(request)).toEqual([['tool_arguments', 'a'], ['tool_arguments', 'b']]);
  });

  it('Responses: a function tool with a Content parameter, a text.format schema, prompt variables and an MCP tool\'s headers', () => {
    const request = expectParsed(parse(OPENAI_RESPONSES, {
      model: 'gpt-5',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, { type: 'function_call', call_id: 'c1', name: 'save_note', arguments: '{"Content":"x"}' }],
      tools: [
        { type: 'function', name: 'save_note', parameters: schema },
        { type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example.com', headers: { Authorization: 'Bearer t', authorization: 'Bearer u' } },
      ],
      text: { format: { type: 'json_schema', name: 'Note', schema } },
      prompt: { id: 'pmpt_1', variables: { Name: 'Ada', name: 'ada', Text: { type: 'input_text', text: 'hello' } } },
      metadata: { Input: '1', input: '2' },
    }));
    expect(textsOf(request)).toContainEqual(['user', 'hello']);
  });

  it('Anthropic: tool_use input with Text and text keys, an input_schema with Content, metadata', () => {
    const request = expectParsed(parse(ANTHROPIC, claude({
      tools: [{ name: 'save_note', description: 'Saves a note', input_schema: schema }],
      metadata: { user_id: 'u-1' },
      messages: [
        { role: 'user', content: 'save it' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'save_note', input: { Text: 'first', text: 'second', Content: { Name: 'n' } } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'saved' }] }] },
      ],
    })));
    expect(textsOf(request)).toEqual([
      ['user', 'save it'], ['tool_arguments', 'first'], ['tool_arguments', 'second'], ['tool_arguments', 'n'], ['tool_result', 'saved'],
      ['tool_definition', 'Saves a note'], ...schemaNames('tool_definition'),
    ]);
  });

  it('Gemini: function args and responses, declarations\' schemas, a response schema and labels', () => {
    const request = expectParsed(parse(GEMINI, {
      contents: [
        { role: 'user', parts: [{ text: 'save it' }] },
        { role: 'model', parts: [{ functionCall: { name: 'save_note', args: { Content: 'a', content: 'b', Parts: ['c'] } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'save_note', response: { Text: 'ok', Name: 'n' } } }] },
      ],
      tools: [{ functionDeclarations: [{ name: 'save_note', parameters: schema, response: schema }, { name: 'other', parametersJsonSchema: schema }] }],
      generationConfig: { responseMimeType: 'application/json', responseSchema: schema, responseJsonSchema: schema },
      labels: { Team: 'a', team: 'b' },
    }));
    expect(textsOf(request)).toEqual([
      ['user', 'save it'], ['tool_arguments', 'a'], ['tool_arguments', 'b'], ['tool_arguments', 'c'], ['tool_result', 'ok'], ['tool_result', 'n'],
      // The names and `required: ['Content']` of each declaration's schemas (parameters, response, parametersJsonSchema).
      ...schemaNames('tool_definition'), ...schemaNames('tool_definition'), ...schemaNames('tool_definition'),
      // And of generationConfig's responseSchema and responseJsonSchema.
      ...schemaNames('output_schema'), ...schemaNames('output_schema'),
    ]);
  });

  it('structured-output schemas keep their own keys: Schema and Format properties, a string format', () => {
    const own = { type: 'object', properties: { Schema: { type: 'string', format: 'date-time' }, Format: { type: 'string' }, FORMAT: { type: 'string' } }, required: ['Schema'] };
    expectParsed(parse(OPENAI_RESPONSES, { model: 'gpt-5', input: 'hi', text: { format: { type: 'json_schema', name: 'x', schema: own }, verbosity: 'low' } }));
    expectParsed(parse(OPENAI_CHAT, chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: own } } })));
    expectParsed(parse(ANTHROPIC, claude({ output_config: { effort: 'low', format: { type: 'json_schema', schema: own } }, output_format: { type: 'json_schema', schema: own } })));
    expectParsed(parse(GEMINI, { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { temperature: 0, responseSchema: own, response_json_schema: own } }));
  });

  it('Gemini: snake_case fields and camelCase fields both pass', () => {
    expectParsed(parse(GEMINI, {
      system_instruction: { parts: [{ text: 'be brief' }] },
      contents: [{ role: 'user', parts: [{ inline_data: { mime_type: 'text/plain', data: 'aGk=' } }, { inlineData: { mimeType: 'image/png', data: 'aGk=' } }] }],
      generation_config: { max_output_tokens: 10 },
    }));
  });
});

describe('MCP JSON-RPC: checked like any body, its tool arguments left free-form', () => {
  it('a tools/call with keys of any case in its arguments is read', () => {
    const request = expectParsed(parseMcp({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'save_note', arguments: { Content: 'a', content: 'b' }, _meta: { progressToken: 1 } } }));
    expect(request).toMatchObject({ adapter: 'mcp', operation: 'tools/call', tools: [{ name: `${MCP_HOST}-save_note` }] });
    expect(textsOf(request)).toEqual([['tool_arguments', 'Content'], ['tool_arguments', 'a'], ['tool_arguments', 'content'], ['tool_arguments', 'b'], ['other', 'progressToken']]);
  });

  // A Go MCP server runs the later of `name` and `NAME`: refused, and never taken for the host's other traffic
  // when MCP's headers are missing (mcp.ts decides "JSON-RPC or not" on a plain parse).
  it.each([
    ['with MCP headers', { 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' }],
    ['without them', { 'content-type': 'application/json', accept: 'application/json' }],
  ])('a tools/call with case-variant keys %s is refused', (_name, headers) => {
    const error = expectFailed(parseMcp({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo', NAME: 'read_file', arguments: {} } }, headers));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toMatch(/both "name" and "NAME" in params/);
  });
});

describe('parseJsonBody and findFoldedKey', () => {
  it('parseJsonBody refuses a folded key and keeps accepting plain JSON', () => {
    const context = { method: 'POST', pathname: '/v1/chat/completions', provider: 'openai' };
    expect(parseJsonBody('{"model":"gpt-4o","Model":"o1"}', context)).toMatchObject({ ok: false, error: { status: 400, type: 'invalid_request' } });
    expect(parseJsonBody('{"model":"gpt-4o","temperature":1}', context)).toEqual({ ok: true, value: { model: 'gpt-4o', temperature: 1 } });
    expect(parseJsonBody('"a string"', context)).toEqual({ ok: true, value: 'a string' });
  });

  it('reports the first problem, the keys of an object before those inside it, with its path', () => {
    const messages = [{ role: 'user', content: 'a' }, { role: 'user', Content: 'b' }];
    expect(findFoldedKey({ messages, tools: [{ type: 'function', Function: {} }] })).toEqual({ kind: 'misspelled', path: ['messages', 1], key: 'Content', field: 'content' });
    expect(findFoldedKey({ messages, Tools: [] })).toEqual({ kind: 'misspelled', path: [], key: 'Tools', field: 'tools' });
  });

  it('walks a deeply nested body without exhausting the stack', () => {
    let content: unknown = [{ type: 'text', text: 'deep' }];
    for (let i = 0; i < 20_000; i++) content = [{ type: 'tool_result', tool_use_id: `t${i}`, content }];
    expect(findFoldedKey({ model: 'm', messages: [{ role: 'user', content }] })).toBeUndefined();
  });

  it('costs little next to parsing a large body: work in proportion to its objects', () => {
    // Counted, not timed: four times the messages take four times the looks (a walk that rescans grows sixteenfold).
    const looksAt = (count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: 'x'.repeat(200) }] }));
      const body = countedJson({ model: 'gpt-4o', messages });
      expect(findFoldedKey(body.value)).toBeUndefined();
      return body.looks();
    };
    const small = looksAt(2_000);
    expect(looksAt(8_000)).toBeLessThanOrEqual(4 * small);
  });
});
