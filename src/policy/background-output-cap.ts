/**
 * The answer a background request (a background Responses request, an Assistants run) is charged when Edge gives
 * it up without ever seeing its usage (background-responses.ts): its worst case, the most answer it allowed itself.
 *
 * A client may read the answer another way than by fetching the response back (a conversation's items, a webhook):
 * the answer was generated and billed, possibly 100,000 tokens of it, and Edge never sees how long it was. Charging
 * only the prompt then would let every such answer go free, and would make crowding an expensive request out of
 * Edge's memory worth a client's while.
 */

/**
 * The answer assumed for a request that set no bound of its own: 32,768 tokens, the longest answer of the GPT-4.1
 * family (GPT-4o stops at 16,384), so it is a real worst case for the models background requests mostly name. The
 * reasoning models allow more (o3 100,000, GPT-5 128,000), but charging that to every request given up would use a
 * key's tokens up for answers that were mostly far shorter; a request that wants a longer answer says so with its
 * own bound, which is then what it is charged.
 */
export const DEFAULT_OUTPUT_CAP_TOKENS = 32_768;

/**
 * The request's own bound on its answer: `max_output_tokens` (Responses) or `max_completion_tokens` (Assistants
 * runs), read from its parsed body; undefined when it sets none.
 */
export function requestedOutputCap(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  for (const field of ['max_output_tokens', 'max_completion_tokens']) {
    const value = fields[field];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.ceil(value);
  }
  return undefined;
}

/** The answer tokens charged for a request given up: its bound (or the default), or what was seen if more. */
export function worstCaseOutputTokens(job: { outputTokens: number; outputCap?: number }): number {
  return Math.max(job.outputTokens, job.outputCap ?? DEFAULT_OUTPUT_CAP_TOKENS);
}
