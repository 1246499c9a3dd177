/**
 * Cursor's model, guessed without a schema. A text field "clearly carries a model name" when its whole
 * value is one: a known model family followed by version segments (`claude-3.5-sonnet`, `gpt-4o`,
 * `cursor-small`, `gemini-2.5-pro`, `o3-mini`), no spaces, at most 80 characters. Cursor's chat request
 * carries the model that way in a small message of its own (observed at `1.5.1` by public reverse
 * engineering, which Edge does not rely on). The model is reported only when exactly one distinct such
 * value appears; none, or several (a user who typed another model's name, a conversation that switched
 * models), give null rather than a guess. Family-only words (`claude`, `auto`, `default`) never count.
 */

const MAX_MODEL_LENGTH = 80;
const FAMILY = '(?:claude|gpt|chatgpt|cursor|composer|gemini|grok|deepseek|kimi|qwen|llama|mistral|codestral|glm|sonnet|opus|haiku)';
const MODEL_NAME = new RegExp(`^(?:o[1-9](?:-[a-z0-9.]+)*|${FAMILY}(?:[-.][a-z0-9][a-z0-9.]*)+)$`, 'i');

export function looksLikeModelName(text: string): boolean {
  return text.length <= MAX_MODEL_LENGTH && MODEL_NAME.test(text);
}

export function modelFromTexts(texts: Iterable<string>): string | null {
  const found = new Set<string>();
  for (const text of texts) if (looksLikeModelName(text)) found.add(text);
  return found.size === 1 ? [...found][0]! : null;
}
