import type { NormalizedRequest } from '../providers/types.js';
import { createAnswerTextReader } from '../proxy/answer-text.js';
import { decodeAlongside } from '../util/side-decoder.js';
import { estimatedPromptTokens } from './in-flight.js';
import type { ResponseMeter, ResponseMeterInput } from './response-meter.js';
import type { TokenUsage } from './usage.js';

/**
 * What an exchange is charged when Edge sent it upstream but the provider never reported its usage.
 * OpenAI chat and completion streams report usage only in their last event, so a client that stops the
 * stream early (an IDE's stop button) would otherwise be charged nothing, though the provider read the
 * prompt and billed it and the answer so far: a token or spend limit never moved however big the
 * prompts. Such an exchange is charged Edge's estimate instead: the prompt as the in-flight hold
 * estimates it, and the answer text that streamed by, at the same four characters a token.
 */

/** The usage charged for an exchange whose provider reported none. */
export function estimatedUsage(request: NormalizedRequest, outputTokens: number): TokenUsage {
  const inputTokens = estimatedPromptTokens(request);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, cachedInputTokens: 0, reasoningTokens: 0 };
}

/**
 * Whether the answer is an event stream: providers answer a prompt they refuse with a JSON error, so a
 * stream means the prompt was accepted (and billed), whether or not its usage arrives.
 */
export function isEventStream(input: ResponseMeterInput): boolean {
  return (input.contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
}

/**
 * A stream the provider answered successfully: it read the prompt and bills it, usage reported or not.
 * An error sent as an event stream (some gateways do) accepted nothing, so nothing is estimated for it.
 */
export function isAcceptedStream(input: ResponseMeterInput): boolean {
  return isEventStream(input) && (input.status === undefined || (input.status >= 200 && input.status < 300));
}

export interface AnswerTally {
  push(chunk: Uint8Array): void;
  end(): void;
  /** Tokens of answer text seen so far (a compressed stream may still be decoding: what was decoded). */
  outputTokens(): number;
}

/** Counts the answer text of a streamed answer as it is relayed; undefined when it is not a stream Edge can decode. */
export function tallyStreamedAnswer(input: ResponseMeterInput): AnswerTally | undefined {
  return isEventStream(input) ? tallyAnswer(input, 0) : undefined;
}

/**
 * Counts the answer text of a streamed answer, or of a JSON answer up to `maxJsonBytes` (read whole when it ends:
 * a poll or cancel of a background response carries the output so far); undefined when Edge cannot read it.
 */
export function tallyAnswer(input: ResponseMeterInput, maxJsonBytes: number): AnswerTally | undefined {
  const reader = createAnswerTextReader(input.contentType, maxJsonBytes);
  if (!reader) return undefined;
  let chars = 0;
  const decoder = decodeAlongside(input.contentEncoding, (chunk) => { chars += reader.push(chunk).length; }, () => { chars += reader.end().length; });
  if (!decoder) return undefined;
  return { push: (chunk) => decoder.push(chunk), end: () => decoder.end(), outputTokens: () => Math.ceil(chars / 4) };
}

/** `meter` fed alongside `tally`, which is told first: the charge made when the meter ends counts all the answer. */
export function meterWithTally(meter: ResponseMeter, tally: AnswerTally | undefined): ResponseMeter {
  if (!tally) return meter;
  return {
    push: (chunk) => {
      tally.push(chunk);
      meter.push(chunk);
    },
    end: () => {
      tally.end();
      meter.end();
    },
    finished: meter.finished,
  };
}
