/**
 * Provider-format answers of the Bifrost stand-in, as pure functions: read the user's text out of a
 * request, and build the JSON body or the list of stream events that echo it back
 * (`echo: <last user text>`), so tests can assert a round trip through the proxy.
 *
 * Streams are returned as ticks: `Tick[]`, one tick per content piece, each tick a list of raw strings
 * the server writes one by one (one SSE event per write) before waiting for the next tick. Framing
 * events (OpenAI role chunk, Anthropic message_start, Responses response.created, ...) ride with the
 * first tick, closing events (finish, usage, [DONE], message_stop, ...) with the last.
 */
import { createHash } from 'node:crypto';

export type Tick = string[];

/** Providers whose name Bifrost recognises as the `provider/` prefix of a model string. */
export const KNOWN_PROVIDERS = [
  'openai', 'anthropic', 'gemini', 'vertex', 'bedrock', 'azure', 'cohere', 'mistral', 'groq', 'xai', 'deepseek',
  'openrouter', 'perplexity', 'ollama', 'cerebras', 'sgl', 'parasail', 'huggingface', 'nebius', 'elevenlabs',
] as const;

/** Splits `provider/model`; a bare model keeps the route's provider (or a guess on the generic `/v1` routes). */
export function splitModel(model: string, routeProvider?: string): { provider: string; model: string } {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const prefix = model.slice(0, slash);
    if ((KNOWN_PROVIDERS as readonly string[]).includes(prefix)) return { provider: prefix, model: model.slice(slash + 1) };
  }
  if (routeProvider) return { provider: routeProvider, model };
  if (/^claude/i.test(model)) return { provider: 'anthropic', model };
  if (/^gemini/i.test(model)) return { provider: 'gemini', model };
  return { provider: 'openai', model };
}

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function echoText(userText: string): string {
  return `echo: ${userText}`;
}

/** Splits text into exactly `n` near-equal pieces whose concatenation is the text (empty pieces only when n > length). */
export function splitText(text: string, n: number): string[] {
  const count = Math.max(1, Math.floor(n));
  const chars = Array.from(text);
  const at = (i: number): number => Math.floor((i * chars.length) / count);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(chars.slice(at(i), at(i + 1)).join(''));
  return out;
}

export function sse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading the user's text

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text of a message content: a string, or the `text` of parts typed text / input_text / output_text. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isObject(part) && typeof part['text'] === 'string' ? part['text'] : ''))
      .filter((t) => t !== '')
      .join('\n');
  }
  return '';
}

function lastUserContent(messages: unknown, roleKey = 'role', userRole = 'user', contentKey = 'content'): unknown {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m: unknown = messages[i];
    if (isObject(m) && (m[roleKey] === userRole || (m[roleKey] === undefined && roleKey === 'role' && contentKey === 'parts'))) {
      return m[contentKey];
    }
  }
  return undefined;
}

/** Last user message of an OpenAI chat request (`messages[].content`). */
export function openaiChatUserText(body: Json): string {
  return contentText(lastUserContent(body['messages']));
}

/** Responses API `input`: a string, or the last user item's content. */
export function responsesUserText(body: Json): string {
  const input = body['input'];
  if (typeof input === 'string') return input;
  return contentText(lastUserContent(input));
}

/** Last user message of an Anthropic Messages request. */
export function anthropicUserText(body: Json): string {
  return contentText(lastUserContent(body['messages']));
}

/** Last user turn of a Gemini request (`contents[].parts[].text`; a turn without a role counts as user). */
export function geminiUserText(body: Json): string {
  return contentText(lastUserContent(body['contents'], 'role', 'user', 'parts'));
}

/** Everything the prompt carries, for a token estimate. */
export function promptTokens(body: Json): number {
  const parts = ['messages', 'input', 'contents', 'system', 'systemInstruction', 'instructions', 'tools']
    .map((k) => body[k])
    .filter((v) => v !== undefined);
  return estimateTokens(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(''));
}

// ---------------------------------------------------------------------------------------------
// Answers

export interface EchoAnswer {
  /** Stable id suffix for this answer. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** Model as the answer reports it (without the provider prefix). */
  model: string;
  provider: string;
  /** Model exactly as requested. */
  requestedModel: string;
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Add Bifrost's `extra_fields` (the generic `/v1` routes do; the provider-compatible routes do not). */
  extraFields?: { requestType: string };
}

function extraFields(a: EchoAnswer, chunkIndex?: number): Json | undefined {
  if (!a.extraFields) return undefined;
  const out: Json = { request_type: a.extraFields.requestType, provider: a.provider, model_requested: a.requestedModel, latency: 0 };
  if (chunkIndex !== undefined) out['chunk_index'] = chunkIndex;
  return out;
}

function withExtra(body: Json, a: EchoAnswer, chunkIndex?: number): Json {
  const extra = extraFields(a, chunkIndex);
  return extra ? { ...body, extra_fields: extra } : body;
}

// --- OpenAI chat completions

export function openaiChatCompletion(a: EchoAnswer): Json {
  return withExtra({
    id: `chatcmpl-${a.id}`,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    system_fingerprint: 'fp_bifrost_standin',
    choices: [{ index: 0, message: { role: 'assistant', content: a.text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens },
  }, a);
}

export function openaiChatStream(a: EchoAnswer, chunks: number, includeUsage: boolean): Tick[] {
  const base = { id: `chatcmpl-${a.id}`, object: 'chat.completion.chunk', created: a.created, model: a.model, system_fingerprint: 'fp_bifrost_standin' };
  let index = 0;
  const chunk = (choices: unknown[], extra: Json = {}): string => sse(withExtra({ ...base, choices, ...extra }, a, index++));
  const ticks = splitText(a.text, chunks).map((piece, i): Tick => [
    chunk([{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece } }]),
  ]);
  const last = ticks[ticks.length - 1] as Tick;
  last.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  if (includeUsage) {
    last.push(chunk([], { usage: { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens } }));
  }
  last.push(sse('[DONE]'));
  return ticks;
}

// --- OpenAI Responses API

function responsesUsage(a: EchoAnswer): Json {
  return {
    input_tokens: a.promptTokens,
    input_tokens_details: { cached_read_tokens: 0 },
    output_tokens: a.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: a.promptTokens + a.completionTokens,
  };
}

function responsesMessage(a: EchoAnswer, done: boolean): Json {
  return {
    id: `msg_${a.id}`,
    type: 'message',
    status: done ? 'completed' : 'in_progress',
    role: 'assistant',
    content: done ? [{ type: 'output_text', text: a.text, annotations: [] }] : [],
  };
}

export function responsesObject(a: EchoAnswer, done = true): Json {
  const body: Json = {
    id: `resp_${a.id}`,
    object: 'response',
    created_at: a.created,
    status: done ? 'completed' : 'in_progress',
    model: a.model,
    output: done ? [responsesMessage(a, true)] : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    text: { format: { type: 'text' } },
    store: false,
    metadata: {},
  };
  if (done) body['usage'] = responsesUsage(a);
  return withExtra(body, a);
}

export function responsesStream(a: EchoAnswer, chunks: number): Tick[] {
  // sequence_number is filled in write order by renumber() once every event is in place.
  const ev = (type: string, fields: Json): string => sse({ type, sequence_number: 0, ...fields }, type);
  const itemId = `msg_${a.id}`;
  const ticks = splitText(a.text, chunks).map((delta): Tick => [
    ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta }),
  ]);
  const first = ticks[0] as Tick;
  first.unshift(
    ev('response.created', { response: responsesObject(a, false) }),
    ev('response.in_progress', { response: responsesObject(a, false) }),
    ev('response.output_item.added', { output_index: 0, item: responsesMessage(a, false) }),
    ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
  );
  const last = ticks[ticks.length - 1] as Tick;
  last.push(
    ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: a.text }),
    ev('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: a.text, annotations: [] } }),
    ev('response.output_item.done', { output_index: 0, item: responsesMessage(a, true) }),
    ev('response.completed', { response: responsesObject(a, true) }),
  );
  return renumber(ticks);
}

/** Rewrites `sequence_number` so it counts up in the order the events are written. */
function renumber(ticks: Tick[]): Tick[] {
  let seq = 0;
  return ticks.map((tick) => tick.map((event) => event.replace(/"sequence_number":\d+/, () => `"sequence_number":${seq++}`)));
}

// --- OpenAI embeddings

export function embeddingVector(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let block = createHash('sha256').update(text).digest();
  while (out.length < dimensions) {
    for (let i = 0; i + 1 < block.length && out.length < dimensions; i += 2) {
      out.push(Number((block.readUInt16BE(i) / 32767.5 - 1).toFixed(6)));
    }
    block = createHash('sha256').update(block).digest();
  }
  const norm = Math.sqrt(out.reduce((s, v) => s + v * v, 0)) || 1;
  return out.map((v) => Number((v / norm).toFixed(6)));
}

export function openaiEmbeddings(inputs: string[], model: string, dimensions: number, promptTok: number, extra?: EchoAnswer): Json {
  const body: Json = {
    object: 'list',
    data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embeddingVector(text, dimensions) })),
    model,
    usage: { prompt_tokens: promptTok, total_tokens: promptTok },
  };
  return extra ? withExtra(body, extra) : body;
}

// --- Anthropic Messages

export function anthropicMessage(a: EchoAnswer): Json {
  return {
    id: `msg_${a.id}`,
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: [{ type: 'text', text: a.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: a.promptTokens, output_tokens: a.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

export function anthropicStream(a: EchoAnswer, chunks: number): Tick[] {
  const ticks = splitText(a.text, chunks).map((text): Tick => [
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'),
  ]);
  const start = {
    ...anthropicMessage(a),
    content: [],
    stop_reason: null,
    usage: { input_tokens: a.promptTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
  (ticks[0] as Tick).unshift(
    sse({ type: 'message_start', message: start }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'ping' }, 'ping'),
  );
  (ticks[ticks.length - 1] as Tick).push(
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    // Bifrost leaves a null stop_sequence out of message_delta (its spec types it as a plain string).
    sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: a.completionTokens } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  );
  return ticks;
}

// --- Gemini

function geminiUsage(a: EchoAnswer, completion: number): Json {
  return { promptTokenCount: a.promptTokens, candidatesTokenCount: completion, totalTokenCount: a.promptTokens + completion };
}

export function geminiResponse(a: EchoAnswer): Json {
  return {
    candidates: [{ content: { role: 'model', parts: [{ text: a.text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: geminiUsage(a, a.completionTokens),
    modelVersion: a.model,
    responseId: a.id,
  };
}

/** `:streamGenerateContent` chunks: SSE `data:` events with `?alt=sse`, else one JSON array written piece by piece. */
export function geminiStream(a: EchoAnswer, chunks: number, alt: 'sse' | 'json'): Tick[] {
  const pieces = splitText(a.text, chunks);
  let produced = 0;
  const bodies = pieces.map((text, i) => {
    produced += text.length;
    const last = i === pieces.length - 1;
    const candidate: Json = { content: { role: 'model', parts: [{ text }] }, index: 0 };
    if (last) candidate['finishReason'] = 'STOP';
    const completion = last ? a.completionTokens : estimateTokens(a.text.slice(0, produced));
    return { candidates: [candidate], usageMetadata: geminiUsage(a, completion), modelVersion: a.model, responseId: a.id };
  });
  if (alt === 'sse') return bodies.map((b) => [sse(b)]);
  const ticks = bodies.map((b, i): Tick => [`${i === 0 ? '[' : ',\r\n'}${JSON.stringify(b)}`]);
  (ticks[ticks.length - 1] as Tick).push(']');
  return ticks;
}

// ---------------------------------------------------------------------------------------------
// Model catalogue

export interface CatalogModel {
  provider: string;
  model: string;
  name: string;
  contextLength: number;
  maxOutput: number;
  kind: 'chat' | 'embedding';
}

export const MODEL_CATALOG: readonly CatalogModel[] = [
  { provider: 'openai', model: 'gpt-4o', name: 'GPT-4o', contextLength: 128000, maxOutput: 16384, kind: 'chat' },
  { provider: 'openai', model: 'gpt-4o-mini', name: 'GPT-4o mini', contextLength: 128000, maxOutput: 16384, kind: 'chat' },
  { provider: 'openai', model: 'text-embedding-3-small', name: 'Text Embedding 3 Small', contextLength: 8191, maxOutput: 0, kind: 'embedding' },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', name: 'Claude Sonnet 4.5', contextLength: 200000, maxOutput: 64000, kind: 'chat' },
  { provider: 'anthropic', model: 'claude-haiku-4-5', name: 'Claude Haiku 4.5', contextLength: 200000, maxOutput: 64000, kind: 'chat' },
  { provider: 'gemini', model: 'gemini-2.5-flash', name: 'Gemini 2.5 Flash', contextLength: 1048576, maxOutput: 65536, kind: 'chat' },
  { provider: 'gemini', model: 'gemini-2.5-pro', name: 'Gemini 2.5 Pro', contextLength: 1048576, maxOutput: 65536, kind: 'chat' },
];

const CATALOG_CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z

/** `GET /v1/models` (Bifrost ListModelsResponse). */
export function bifrostModelList(models: readonly CatalogModel[]): Json {
  return {
    data: models.map((m) => ({
      id: `${m.provider}/${m.model}`,
      name: m.name,
      created: CATALOG_CREATED,
      context_length: m.contextLength,
      max_input_tokens: m.contextLength,
      max_output_tokens: m.maxOutput,
      owned_by: m.provider,
      supported_methods: m.kind === 'embedding' ? ['embedding'] : ['chat_completion', 'responses'],
    })),
    extra_fields: { request_type: 'list_models', latency: 0 },
  };
}

/** `GET /openai/v1/models` (OpenAI list shape, Bifrost's `provider/model` ids). */
export function openaiModelList(models: readonly CatalogModel[]): Json {
  return {
    object: 'list',
    data: models.map((m) => ({ id: `${m.provider}/${m.model}`, object: 'model', created: CATALOG_CREATED, owned_by: m.provider })),
  };
}

/** `GET /genai/v1beta/models` (GeminiListModelsResponse). */
export function geminiModelList(models: readonly CatalogModel[]): Json {
  return {
    models: models.map((m) => ({
      name: `models/${m.model}`,
      baseModelId: m.model,
      version: '001',
      displayName: m.name,
      description: `${m.name} (Bifrost stand-in)`,
      inputTokenLimit: m.contextLength,
      outputTokenLimit: m.maxOutput,
      supportedGenerationMethods: m.kind === 'embedding' ? ['embedContent'] : ['generateContent', 'countTokens'],
    })),
  };
}
