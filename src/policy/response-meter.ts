import type { NormalizedRequest } from '../providers/types.js';
import { decodeOnceFor, type DecodedBodyReader } from '../util/side-decoder.js';
import type { JobState } from './background-jobs.js';
import { usageReaderFor, type TokenUsage } from './usage.js';

/**
 * Reads usage from a response the proxy is relaying, chunk by chunk, without holding it up: the proxy
 * hands each chunk over as it forwards it. Compressed bodies are decompressed on the side (gzip, deflate,
 * br); an encoding Node cannot decode here (zstd on Node 20) simply yields no usage.
 */
export interface ResponseMeter {
  push(chunk: Uint8Array): void;
  /** The response ended (completely or not): usage found so far is reported once through onUsage. */
  end(): void;
  /**
   * Settles once onUsage has run after end(). Decompression finishes on a later tick than the response,
   * so whoever writes the exchange's record waits for this to have the usage in it.
   */
  readonly finished: Promise<void>;
}

export interface ResponseMeterInput {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** The answer's HTTP status, when known: an error answer did not accept the prompt. */
  status?: number;
}

/**
 * Inspected operations that make the model read a prompt but generate nothing billed: token counting. Their
 * answers carry counts, not usage.
 */
const COUNTING_OPERATIONS: ReadonlySet<string> = new Set(['countTokens', 'messages.count_tokens', 'responses.input_tokens']);

/**
 * Whether the provider bills this request as the model's work, so its answer's usage is charged: a request whose
 * body Edge reads as a prompt (a generation, an embedding, creating a Gemini cache, an Assistants run), token
 * counting aside. What is forwarded unread is not: retrieving, listing, updating or deleting stored objects
 * (`GET /v1/responses/{id}`, `GET /v1/chat/completions/{id}`, GET / PATCH `cachedContents/{id}`) answers with the
 * stored object, whose usage was billed, and charged, when it was made; charging it again would spend the key's
 * budget on every poll or TTL update.
 */
export function generatesAnswer(request: NormalizedRequest): boolean {
  return request.inspected && !COUNTING_OPERATIONS.has(request.operation);
}

/**
 * Inspected operations whose answer is not the model's work and is not billed as such: a moderation (free), and
 * storing what a later request generates from (an assistant, a thread or its messages, a conversation or its items,
 * a Realtime session's configuration, a WebRTC call's offer: the SDP answer opens the session, whose usage the
 * session's own events report), or a vector store search (billed per call, not in tokens). Their answers report no
 * usage, and charging their prompt as an estimate would spend a key's tokens on free calls.
 */
const UNBILLED_OPERATIONS: ReadonlySet<string> = new Set([
  'moderations', 'assistants', 'threads', 'threads.messages', 'conversations', 'conversations.items',
  'realtime.client_secrets', 'realtime.sessions', 'realtime.calls', 'vector_stores.search',
]);

/**
 * Whether a successful answer to `request` that reports no usage was billed all the same, so Edge charges its
 * estimate (the prompt, and the answer text read): a generating request's (generatesAnswer), except the operations
 * above.
 */
export function billedWithoutUsage(request: NormalizedRequest): boolean {
  return generatesAnswer(request) && !UNBILLED_OPERATIONS.has(request.operation);
}

/**
 * `onUsage` gets the usage found (undefined: none), the model the answer names (usage.ts modelInDocument) and the
 * background response or Assistants run it reports, in its latest state (background-jobs.ts).
 */
export type UsageListener = (usage: TokenUsage | undefined, answeredModel: string | undefined, job?: JobState) => void;

/**
 * A reader of the answer's text read from the same decoded bytes as the usage (unreported-usage.ts answerCounter):
 * what the answer is charged when it reports no usage.
 */
export interface AnswerCounter extends DecodedBodyReader {
  /** Tokens of answer text read so far. */
  outputTokens(): number;
}

/**
 * `answer`, when given, reads the same body: one decoder feeds both, the counter first, so when `onUsage` runs the
 * counter has read the whole answer. Two decoders of a compressed answer would finish in either order, and a
 * charge made when the usage reader ended could miss the answer text still being inflated for the counter.
 */
export function createResponseMeter(input: ResponseMeterInput, onUsage: UsageListener, answer?: AnswerCounter): ResponseMeter {
  const reader = usageReaderFor(input.contentType);
  let reported = false;
  const report: UsageListener = (usage, answeredModel, job) => {
    if (reported) return;
    reported = true;
    onUsage(usage, answeredModel, job);
  };
  const nothingToRead = { push: () => {}, end: () => report(undefined, undefined), finished: Promise.resolve() };
  if (!reader) return nothingToRead;
  // A corrupt or truncated body still yields what was decoded before the damage.
  const usageReader: DecodedBodyReader = {
    push: (chunk) => reader.push(chunk),
    end: () => {
      const usage = reader.end();
      report(usage, reader.model(), reader.job());
    },
  };
  return decodeOnceFor(input.contentEncoding, answer ? [answer, usageReader] : [usageReader]) ?? nothingToRead;
}
