import { createRequire } from 'node:module';
import type { Tiktoken } from 'js-tiktoken/lite';

/**
 * Prompts sent as token ids instead of text. OpenAI's legacy completions and embeddings take `prompt` /
 * `input` as token ids, and LangChain's OpenAIEmbeddings sends every document that way by default, so
 * text embedded for retrieval would reach the provider unread. Every OpenAI model that takes token ids
 * (text-embedding-3-*, text-embedding-ada-002, gpt-3.5-turbo-instruct, davinci-002, babbage-002) uses the
 * cl100k_base encoding, so the ids are decoded with it and the text is read like any other. Another
 * provider's ids (their own tokenizers) decode to other text: no worse than unread, which they were.
 *
 * js-tiktoken (the JavaScript port of OpenAI's tiktoken, MIT) holds the vocabulary; it is loaded on the
 * first token-id prompt, not at start: it costs ~0.2 s and ~35 MB of heap, which an agent that never
 * sees one should not pay.
 */

let cl100k: Tiktoken | undefined;

function encoding(): Tiktoken {
  if (!cl100k) {
    // Synchronous on purpose: body readers are synchronous, and this runs once per process.
    const require = createRequire(import.meta.url);
    const { Tiktoken: Encoding } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
    const ranks = require('js-tiktoken/ranks/cl100k_base') as ConstructorParameters<typeof Encoding>[0];
    cl100k = new Encoding(ranks);
  }
  return cl100k;
}

/** True for a non-empty array of numbers only: one prompt as token ids. */
export function isTokenIdArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'number');
}

/**
 * The text `ids` stand for. Ids that are not whole numbers in the vocabulary stand for nothing (the
 * provider refuses such a request anyway); bytes that are not UTF-8 on their own become U+FFFD.
 */
export function textOfTokenIds(ids: readonly number[]): string {
  return encoding().decode(ids.filter((id) => Number.isInteger(id) && id >= 0));
}
