import type { NormalizedRequest } from '../providers/types.js';
import { createAnswerTextReader } from '../proxy/answer-text.js';
import { estimatedPromptTokens } from './in-flight.js';
import type { AnswerCounter, ResponseMeterInput } from './response-meter.js';
import type { TokenUsage } from './usage.js';

/**
 * What an exchange is charged when Edge sent it upstream but the provider never reported its usage.
 * OpenAI chat and completion streams report usage only in their last event, so a client that stops the
 * stream early (an IDE's stop button) would otherwise be charged nothing, though the provider read the
 * prompt and billed it and the answer so far: a token or spend limit never moved however big the
 * prompts. Such an exchange is charged Edge's estimate instead: the prompt as the in-flight hold
 * estimates it, and the answer text that streamed by, at the same four characters a token. So is a
 * successful JSON answer of a billed operation that reports no usage (response-meter.ts
 * billedWithoutUsage): a route or gateway that leaves usage out must not make every call free.
 */

/** The usage charged for an exchange whose provider reported none. */
export function estimatedUsage(request: NormalizedRequest, outputTokens: number): TokenUsage {
  return usageEstimate(estimatedPromptTokens(request), outputTokens);
}

/** Edge's estimate as usage: a prompt and an answer of so many tokens. */
export function usageEstimate(inputTokens: number, outputTokens: number): TokenUsage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, cachedInputTokens: 0, reasoningTokens: 0 };
}

/** Whether the answer is an event stream. */
export function isEventStream(input: ResponseMeterInput): boolean {
  return mediaType(input) === 'text/event-stream';
}

/**
 * A successful answer (2xx, or a status not known): the provider read the prompt and bills it, usage reported or
 * not. Providers answer a prompt they refuse with an error status (an error sent as an event stream by some
 * gateways too), which accepted nothing, so nothing is estimated for it.
 */
export function isAcceptedAnswer(input: ResponseMeterInput): boolean {
  return input.status === undefined || (input.status >= 200 && input.status < 300);
}

/** A successful event stream (isAcceptedAnswer): the prompt was accepted whether or not its usage arrives. */
export function isAcceptedStream(input: ResponseMeterInput): boolean {
  return isEventStream(input) && isAcceptedAnswer(input);
}

/**
 * Counts the answer text of a streamed answer, or of a JSON answer up to `maxJsonBytes` (read whole when it ends: a
 * poll or cancel of a background response carries the output so far); undefined when Edge cannot read it. It reads
 * decoded bytes: give it to createResponseMeter, which feeds it from the usage meter's own decoder.
 */
export function answerCounter(input: ResponseMeterInput, maxJsonBytes: number): AnswerCounter | undefined {
  const reader = createAnswerTextReader(input.contentType, maxJsonBytes);
  if (!reader) return undefined;
  let chars = 0;
  return {
    push: (chunk) => { chars += reader.push(chunk).length; },
    end: () => { chars += reader.end().length; },
    outputTokens: () => Math.ceil(chars / 4),
  };
}

function mediaType(input: ResponseMeterInput): string {
  return (input.contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
