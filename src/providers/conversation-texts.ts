import type { TextSpan } from './types.js';

/**
 * The texts of a request that make up its conversation (system prompt, messages, tool calls and
 * results), without the tool definitions the client declares alongside them. The guardrails scan those
 * definitions too (a secret pasted into a description leaves with them), but an agent resends the same
 * definitions, often tens of KB, with every turn: they are not the prompt the audit trail keeps, and not
 * text worth a moderation call per turn.
 */
export function conversationTexts(texts: readonly TextSpan[]): string[] {
  const out: string[] = [];
  for (const span of texts) if (span.kind !== 'tool_definition') out.push(span.text);
  return out;
}
