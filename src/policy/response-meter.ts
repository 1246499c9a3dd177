import { decodeAlongside } from '../util/side-decoder.js';
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

export function createResponseMeter(input: ResponseMeterInput, onUsage: (usage: TokenUsage | undefined) => void): ResponseMeter {
  const reader = usageReaderFor(input.contentType);
  let reported = false;
  const report = (usage: TokenUsage | undefined) => {
    if (reported) return;
    reported = true;
    onUsage(usage);
  };
  const nothingToRead = { push: () => {}, end: () => report(undefined), finished: Promise.resolve() };
  if (!reader) return nothingToRead;
  // A corrupt or truncated body still yields what was decoded before the damage.
  return decodeAlongside(input.contentEncoding, (chunk) => reader.push(chunk), () => report(reader.end())) ?? nothingToRead;
}
