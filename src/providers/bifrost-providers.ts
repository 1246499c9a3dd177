/**
 * Provider names built into the Bifrost gateway: the `ModelProvider` enum of its OpenAPI spec
 * (shared/reference/bifrost-openapi-subset.json). Bifrost error bodies may only name these in
 * `extra_fields.provider`; Edge surfaces outside the list (copilot, cursor, the web apps) leave it out.
 */
export const BIFROST_MODEL_PROVIDERS: readonly string[] = [
  'openai', 'azure', 'anthropic', 'bedrock', 'cohere', 'vertex', 'vllm', 'mistral', 'ollama', 'groq', 'sgl',
  'parasail', 'perplexity', 'replicate', 'cerebras', 'gemini', 'openrouter', 'elevenlabs', 'huggingface',
  'nebius', 'xai', 'runway', 'fireworks',
];

const known = new Set(BIFROST_MODEL_PROVIDERS);

export function isBifrostModelProvider(name: string | undefined): boolean {
  return name !== undefined && known.has(name);
}
