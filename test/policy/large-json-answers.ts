/**
 * JSON answers larger than Edge parses whole (usage.ts MAX_JSON_USAGE_BYTES), made chunk by chunk as they are read so
 * that a test holds no more of them than the reader under test does.
 */

/** The usage the answers report, last, as OpenAI writes it. */
export const REPORTED_USAGE = { prompt_tokens: 1_500, completion_tokens: 250_000, total_tokens: 251_500 };

const CHUNK_CHARS = 64 * 1024;

/** One logprobs entry, as a completion with `logprobs: true, top_logprobs: 1` has one per token. */
const TOKEN = '{"token":" the","logprob":-0.0123,"bytes":[32,116,104,101],"top_logprobs":[{"token":" the","logprob":-0.0123,"bytes":[32,116,104,101]}]}';

/**
 * A logprobs entry that says `usage` at every depth an item can: as a key of its own with counts far above the real
 * ones, in a nested object, and as text that looks like the answer's own usage and closes brackets inside a string.
 */
const DECOY = '{"token":"}]},\\"usage\\":{\\"prompt_tokens\\":999999999,\\"completion_tokens\\":999999999}}","logprob":-1,"usage":{"prompt_tokens":999999999,"completion_tokens":999999999,"total_tokens":1999999998},"model":"gpt-4.5-preview","top_logprobs":[{"token":"x","logprob":-2,"usage":{"input_tokens":999999999,"output_tokens":999999999}}]}';

/** `items` (JSON values, comma-joined) repeated in ~64 KiB chunks to about `bytes`, each chunk a new Buffer. */
function* repeated(item: string, bytes: number): Generator<Buffer> {
  const perChunk = Math.max(1, Math.floor(CHUNK_CHARS / (item.length + 1)));
  const chunk = Array.from({ length: perChunk }, () => item).join(',');
  const chunks = Math.max(1, Math.ceil(bytes / chunk.length));
  for (let i = 0; i < chunks; i++) yield Buffer.from(i === 0 ? chunk : `,${chunk}`);
}

/**
 * A chat completion with logprobs of about `bytes` bytes, its usage (REPORTED_USAGE) after its choices. `decoys`:
 * every logprobs entry carries a `usage` of its own (DECOY) before the answer's.
 */
export function* largeChatCompletion(bytes: number, decoys = false): Generator<Buffer> {
  yield Buffer.from('{"id":"chatcmpl-large","object":"chat.completion","created":1767225600,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"the the the"},"logprobs":{"content":[');
  yield* repeated(decoys ? DECOY : TOKEN, bytes);
  yield Buffer.from(`]},"finish_reason":"length"}],"usage":${JSON.stringify({ ...REPORTED_USAGE, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } })},"service_tier":"default","system_fingerprint":"fp_large"}`);
}

/** An embeddings answer of about `bytes` bytes: OpenAI writes its model and usage after the vectors. */
export function* largeEmbeddings(bytes: number): Generator<Buffer> {
  const vector = Array.from({ length: 256 }, (_, i) => (Math.sin(i) / 10).toFixed(8)).join(',');
  yield Buffer.from('{"object":"list","data":[');
  yield* repeated(`{"object":"embedding","index":0,"embedding":[${vector}]}`, bytes);
  yield Buffer.from('],"model":"text-embedding-3-small","usage":{"prompt_tokens":40000,"total_tokens":40000}}');
}
