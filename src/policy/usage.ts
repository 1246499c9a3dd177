import { jobInDocument, type JobState } from './background-jobs.js';
import { JsonKeyScan, type KeyChoice } from './json-key-scan.js';
import { SseEventParser } from './sse-events.js';

/**
 * Token usage read from AI responses, for local token windows and spend estimates. Pure parsing, no I/O.
 *
 * Shapes understood (the gateway answers each route in its provider's format, so these cover both
 * gateway and direct traffic):
 * - OpenAI chat / completions / embeddings: `usage {prompt_tokens, completion_tokens, …}`; streamed, the
 *   last chunk carries `usage` (with `stream_options.include_usage`).
 * - OpenAI Responses: `usage {input_tokens, output_tokens, …}`; streamed, in `response.completed`
 *   (`response.usage`), also `response.incomplete` / `response.failed`.
 * - Anthropic Messages: `usage {input_tokens, output_tokens, cache_*}`; streamed, `message_start` carries
 *   `message.usage` and each `message_delta` carries the running `usage.output_tokens`.
 * - Gemini: `usageMetadata {promptTokenCount, candidatesTokenCount, thoughtsTokenCount, toolUsePromptTokenCount,
 *   totalTokenCount, …}` (thoughts are output, the tools' prompt input; a larger total is charged whole, a total
 *   alone, a cache's size, as input); streamed, every chunk carries the running totals. A non-SSE stream (`streamGenerateContent` without `alt=sse`) is a JSON
 *   array of such chunks. Gemini Live names the answer's tokens `responseTokenCount`.
 * - OpenAI Realtime (`response.done`): `response.usage {input_tokens, output_tokens, input_token_details
 *   {cached_tokens, audio_tokens, …}, output_token_details {audio_tokens, …}}`, the Responses API's fields with
 *   the details objects named in the singular.
 * - Audio tokens (Realtime's details, a chat completion's `prompt_tokens_details.audio_tokens` /
 *   `completion_tokens_details.audio_tokens`, Gemini's `AUDIO` modality counts) are read apart: they cost more;
 *   so is the cached part of the audio input (Realtime's `input_token_details.cached_tokens_details.audio_tokens`,
 *   Gemini's `AUDIO` count in `cacheTokensDetails`), which costs far less.
 *
 * Counts are cumulative, so later reports replace earlier ones field by field.
 */

export interface TokenUsage {
  /** Every prompt token, cached or not (Anthropic's cache reads and writes included). */
  inputTokens: number;
  /** Every generated token, reasoning included. */
  outputTokens: number;
  totalTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  /** Of the input, audio (speech models; priced at the model's audio rate, pricing.ts). Absent: none reported. */
  audioInputTokens?: number;
  /**
   * Of the audio input, read from the provider's cache (a Realtime conversation's earlier turns, re-read every turn):
   * billed far below fresh audio, near the text rate (pricing.ts estimateCost).
   */
  cachedAudioInputTokens?: number;
  /** Of the output, audio. */
  audioOutputTokens?: number;
}

interface PartialUsage {
  input?: number;
  output?: number;
  cached?: number;
  reasoning?: number;
  audioIn?: number;
  audioCached?: number;
  audioOut?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function sum(...values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? undefined : present.reduce((a, b) => a + b, 0);
}

/** One usage object in any of the known shapes. */
function readUsageObject(usage: Json): PartialUsage | undefined {
  // Gemini usageMetadata
  if ('promptTokenCount' in usage || 'candidatesTokenCount' in usage || 'responseTokenCount' in usage || 'totalTokenCount' in usage) {
    const thoughts = count(usage['thoughtsTokenCount']);
    const out: PartialUsage = {};
    // What the tools added to the prompt (search results, code execution output) is billed as input too.
    setIf(out, 'input', sum(count(usage['promptTokenCount']), count(usage['toolUsePromptTokenCount'])));
    // Gemini Live's messages name the answer's tokens responseTokenCount.
    setIf(out, 'output', sum(count(usage['candidatesTokenCount']) ?? count(usage['responseTokenCount']), thoughts));
    setIf(out, 'cached', count(usage['cachedContentTokenCount']));
    setIf(out, 'reasoning', thoughts);
    setIf(out, 'audioIn', audioInModalities(usage['promptTokensDetails']));
    setIf(out, 'audioCached', audioInModalities(usage['cacheTokensDetails']));
    // Gemini Live names the answer's details responseTokensDetails.
    setIf(out, 'audioOut', audioInModalities(usage['candidatesTokensDetails'] ?? usage['responseTokensDetails']));
    // The total is what Gemini bills: beside a prompt or answer count, more than the counts read (one Edge does not
    // know) is charged whole, the rest as output, the dearer side; a smaller total (thoughts left out of it) takes
    // nothing away. A total alone is a stored cache's size (creating, reading or updating a cachedContent), which
    // Gemini bills as input when the cache is created.
    const total = count(usage['totalTokenCount']);
    if (total !== undefined && out.input === undefined && out.output === undefined) out.input = total;
    else if (total !== undefined && total > (out.input ?? 0) + (out.output ?? 0)) out.output = total - (out.input ?? 0);
    return out;
  }
  // OpenAI chat / completions / embeddings
  if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
    const out: PartialUsage = {};
    setIf(out, 'input', count(usage['prompt_tokens']));
    // Embeddings report no completion tokens: nothing was generated.
    setIf(out, 'output', count(usage['completion_tokens']) ?? 0);
    const promptDetails = isObject(usage['prompt_tokens_details']) ? usage['prompt_tokens_details'] : {};
    const completionDetails = isObject(usage['completion_tokens_details']) ? usage['completion_tokens_details'] : {};
    setIf(out, 'cached', count(promptDetails['cached_tokens']));
    setIf(out, 'reasoning', count(completionDetails['reasoning_tokens']));
    setIf(out, 'audioIn', count(promptDetails['audio_tokens']));
    setIf(out, 'audioOut', count(completionDetails['audio_tokens']));
    return out;
  }
  // Anthropic (cache fields) and OpenAI Responses (details objects) share input_tokens / output_tokens.
  if ('input_tokens' in usage || 'output_tokens' in usage) {
    const out: PartialUsage = {};
    const cacheRead = count(usage['cache_read_input_tokens']);
    const cacheWrite = count(usage['cache_creation_input_tokens']);
    // Anthropic's input_tokens excludes cache reads and writes; the Responses API's includes cached tokens.
    setIf(out, 'input', 'input_tokens' in usage || cacheRead !== undefined || cacheWrite !== undefined
      ? sum(count(usage['input_tokens']) ?? 0, cacheRead, cacheWrite)
      : undefined);
    setIf(out, 'output', count(usage['output_tokens']));
    // The Realtime API names it input_token_details.
    const details = usage['input_tokens_details'] ?? usage['input_token_details'];
    const inputDetails = isObject(details) ? details : {};
    const outputDetailsValue = usage['output_tokens_details'] ?? usage['output_token_details'];
    const outputDetails = isObject(outputDetailsValue) ? outputDetailsValue : {};
    setIf(out, 'cached', cacheRead ?? count(inputDetails['cached_tokens']));
    setIf(out, 'reasoning', count(outputDetails['reasoning_tokens']));
    // The Realtime API's audio, in its details objects; of it, what was read from cache (`cached_tokens_details`).
    setIf(out, 'audioIn', count(inputDetails['audio_tokens']));
    const cachedDetails = isObject(inputDetails['cached_tokens_details']) ? inputDetails['cached_tokens_details'] : {};
    setIf(out, 'audioCached', count(cachedDetails['audio_tokens']));
    setIf(out, 'audioOut', count(outputDetails['audio_tokens']));
    return out;
  }
  return undefined;
}

/** Gemini's per-modality counts (`[{modality: 'AUDIO', tokenCount}]`): the audio tokens, undefined when none are listed. */
function audioInModalities(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  return sum(...details.map((entry) => (isObject(entry) && entry['modality'] === 'AUDIO' ? count(entry['tokenCount']) : undefined)));
}

function setIf(target: PartialUsage, field: keyof PartialUsage, value: number | undefined): void {
  if (value !== undefined) target[field] = value;
}

/** Usage reported by one JSON document (a response body, or one streamed event's data). */
export function usageInDocument(doc: unknown): PartialUsage | undefined {
  if (!isObject(doc)) return undefined;
  if (isObject(doc['usageMetadata'])) return readUsageObject(doc['usageMetadata']);
  if (isObject(doc['usage'])) {
    const found = readUsageObject(doc['usage']);
    if (found) return found;
  }
  // Anthropic message_start: {type, message: {usage}}; Responses events: {type, response: {usage}}.
  for (const field of ['message', 'response']) {
    const inner = doc[field];
    if (isObject(inner) && isObject(inner['usage'])) return readUsageObject(inner['usage']);
  }
  return undefined;
}

/**
 * The model a JSON document says answered, or undefined: `model` (OpenAI's answers and chunks, an Assistants run, a
 * Gemini cache), a Responses event's `response.model`, Anthropic's `message.model`, Gemini's `modelVersion`. Read
 * to price an answer whose request named no model (a stored prompt, an Assistants run) by the model that answered.
 */
export function modelInDocument(doc: unknown): string | undefined {
  if (!isObject(doc)) return undefined;
  const named = [doc['model'], isObject(doc['response']) ? doc['response']['model'] : undefined, isObject(doc['message']) ? doc['message']['model'] : undefined, doc['modelVersion']]
    .find((value): value is string => typeof value === 'string' && value.trim() !== '');
  // Gemini names its models as resources (`models/gemini-2.5-flash`); the price tables by their bare names.
  return named?.replace(/^models\//, '');
}

/**
 * Merges cumulative reports: each field takes the largest value reported. Reports only grow, and a
 * later event that leaves a figure out or sends it as 0 or null (Anthropic-compatible servers' final
 * message_delta with `input_tokens: null`) must not wipe what an earlier one said.
 */
export class UsageAccumulator {
  private state: PartialUsage = {};
  private seen = false;
  private answeredBy: string | undefined;
  private reportedJob: JobState | undefined;

  /** The first model a report named (modelInDocument): the answer's model. */
  noteModel(model: string | undefined): void {
    this.answeredBy ??= model;
  }

  model(): string | undefined {
    return this.answeredBy;
  }

  /**
   * A report of the object the answer is about (background-jobs.ts): its id as first reported, its latest state
   * (a stream's events move it on: queued, in_progress, completed). A report of another object is left out.
   */
  noteJob(job: JobState | undefined): void {
    if (!job || (this.reportedJob && job.id !== this.reportedJob.id)) return;
    this.reportedJob = { id: job.id, status: job.status, detached: job.detached || (this.reportedJob?.detached ?? false) };
  }

  job(): JobState | undefined {
    return this.reportedJob;
  }

  add(partial: PartialUsage | undefined): void {
    if (!partial) return;
    this.seen = true;
    for (const [field, value] of Object.entries(partial) as Array<[keyof PartialUsage, number | undefined]>) {
      if (value !== undefined) this.state[field] = Math.max(this.state[field] ?? 0, value);
    }
  }

  result(): TokenUsage | undefined {
    if (!this.seen) return undefined;
    const input = this.state.input ?? 0;
    const output = this.state.output ?? 0;
    const { audioIn, audioCached, audioOut } = this.state;
    const audioInput = Math.min(audioIn ?? 0, input);
    return {
      inputTokens: input,
      outputTokens: output,
      totalTokens: input + output,
      cachedInputTokens: this.state.cached ?? 0,
      reasoningTokens: this.state.reasoning ?? 0,
      // Never more than the count they are part of (a server's details disagreeing with its totals).
      ...(audioInput ? { audioInputTokens: audioInput } : {}),
      ...(audioCached && audioInput ? { cachedAudioInputTokens: Math.min(audioCached, audioInput) } : {}),
      ...(audioOut ? { audioOutputTokens: Math.min(audioOut, output) } : {}),
    };
  }
}

/** Usage in a complete JSON response body (an object, or a Gemini JSON-array stream). */
export function usageFromJson(body: unknown): TokenUsage | undefined {
  return readJsonAnswer(body).result();
}

function readJsonAnswer(body: unknown): UsageAccumulator {
  const acc = new UsageAccumulator();
  for (const doc of Array.isArray(body) ? body : [body]) noteDocument(acc, doc);
  return acc;
}

function noteDocument(acc: UsageAccumulator, doc: unknown): void {
  acc.add(usageInDocument(doc));
  acc.noteModel(modelInDocument(doc));
  acc.noteJob(jobInDocument(doc));
}

/** What usageInDocument, modelInDocument and jobInDocument read of a Responses event's `response` (Anthropic's `message`). */
const REPORTED_OBJECT_KEYS: KeyChoice = { usage: true, model: true, id: true, status: true, background: true };

/**
 * Every key usageInDocument, modelInDocument and jobInDocument (background-jobs.ts) read of a document: all that an
 * answer too large to parse whole is read for (json-key-scan.ts). A key those read must be listed here too, or a large
 * answer would be read differently from a small one.
 */
const DOCUMENT_KEYS: KeyChoice = {
  usage: true, usageMetadata: true, model: true, modelVersion: true,
  object: true, type: true, id: true, status: true, background: true,
  response: REPORTED_OBJECT_KEYS, message: REPORTED_OBJECT_KEYS,
};

/** Reads usage out of an SSE body chunk by chunk, keeping at most one event in memory. */
export class StreamUsageExtractor {
  private readonly acc = new UsageAccumulator();
  private readonly parser = new SseEventParser((event) => this.onEvent(event.data));

  push(chunk: Uint8Array | string): void {
    this.parser.push(chunk);
  }

  end(): TokenUsage | undefined {
    this.parser.end();
    return this.acc.result();
  }

  model(): string | undefined {
    return this.acc.model();
  }

  job(): JobState | undefined {
    return this.acc.job();
  }

  private onEvent(data: string): void {
    // Cheap prefilter: most events are text deltas without a usage report or an object's state.
    if (!data.includes('sage') && !data.includes('"status"')) return;
    let doc: unknown;
    try {
      doc = JSON.parse(data);
    } catch {
      return;
    }
    this.acc.add(usageInDocument(doc));
    // The events that carry usage name the model too (a chat stream's last chunk, response.completed, message_start).
    this.acc.noteModel(modelInDocument(doc));
    // A background response's or an Assistants run's state (response.created … response.completed, thread.run.*).
    this.acc.noteJob(jobInDocument(doc));
  }
}

export interface UsageReader {
  push(chunk: Uint8Array): void;
  /** Usage found, or undefined when the response reported none (or was not whole JSON). */
  end(): TokenUsage | undefined;
  /** After end(): the model the answer names (modelInDocument), or undefined. */
  model(): string | undefined;
  /** After end(): the background response or Assistants run the answer reports, in its latest state (background-jobs.ts). */
  job(): JobState | undefined;
}

/**
 * Largest non-streamed JSON body held and parsed whole for usage. A larger one (a completion with logprobs, an
 * embeddings batch, generated images) is scanned as it passes for the keys its usage, model and state are read from,
 * holding only their values (json-key-scan.ts): read the same, in bounded memory.
 */
export const MAX_JSON_USAGE_BYTES = 8 * 1024 * 1024;

/**
 * A reader for a response of this content type: SSE streams are parsed incrementally; JSON is collected
 * (bounded) and parsed at the end, or scanned past the bound; anything else has no usage to read.
 */
export function usageReaderFor(contentType: string | undefined, maxJsonBytes = MAX_JSON_USAGE_BYTES): UsageReader | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return new StreamUsageExtractor();
  if (type === 'application/json' || type.endsWith('+json')) return new JsonUsageReader(maxJsonBytes);
  return undefined;
}

class JsonUsageReader implements UsageReader {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Past maxBytes: the scan the answer goes on to, and what its documents reported. */
  private scanned: { scan: JsonKeyScan; answer: UsageAccumulator } | undefined;
  private answeredBy: string | undefined;
  private reportedJob: JobState | undefined;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Uint8Array): void {
    if (this.scanned) {
      this.scanned.scan.push(chunk);
      return;
    }
    this.size += chunk.byteLength;
    if (this.size <= this.maxBytes) {
      this.chunks.push(chunk);
      return;
    }
    const answer = new UsageAccumulator();
    this.scanned = { scan: new JsonKeyScan(DOCUMENT_KEYS, (doc) => noteDocument(answer, doc)), answer };
    for (const held of this.chunks) this.scanned.scan.push(held);
    this.chunks = [];
    this.scanned.scan.push(chunk);
  }

  end(): TokenUsage | undefined {
    const answer = this.scanned ? this.scannedAnswer() : this.parsedAnswer();
    this.answeredBy = answer?.model();
    this.reportedJob = answer?.job();
    return answer?.result();
  }

  model(): string | undefined {
    return this.answeredBy;
  }

  job(): JobState | undefined {
    return this.reportedJob;
  }

  /** Like JSON.parse, nothing of a text that is not whole JSON (cut short, corrupt). */
  private scannedAnswer(): UsageAccumulator | undefined {
    return this.scanned!.scan.end() ? this.scanned!.answer : undefined;
  }

  private parsedAnswer(): UsageAccumulator | undefined {
    const text = Buffer.concat(this.chunks).toString('utf8');
    this.chunks = [];
    try {
      return readJsonAnswer(JSON.parse(text));
    } catch {
      return undefined;
    }
  }
}
