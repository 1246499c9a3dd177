import { expect, it } from 'vitest';
import { usageFromJson, StreamUsageExtractor } from '../../src/policy/usage.js';
import { readServerUsage } from '../../src/proxy/websocket-usage.js';

/**
 * Gemini bills the prompt its tools added (a Google Search or code execution result read back into the model,
 * `toolUsePromptTokenCount`) as input, on top of `promptTokenCount`; and `totalTokenCount` is what it bills in all.
 * Edge charges every token Gemini reports: the tool-use prompt is input, and a total larger than the counts Edge
 * reads (a count Edge does not know yet) is charged whole, the rest as output (the dearer side).
 */

const metadata = { promptTokenCount: 100, candidatesTokenCount: 40, thoughtsTokenCount: 10, toolUsePromptTokenCount: 8000, totalTokenCount: 8150 };

it('Gemini Live: the tool-use prompt is charged as input', () => {
  const message = Buffer.from(JSON.stringify({ serverContent: { turnComplete: true }, usageMetadata: { promptTokenCount: 100, responseTokenCount: 50, toolUsePromptTokenCount: 8000, totalTokenCount: 8150 } }));
  expect(readServerUsage('gemini-live', message)).toEqual({ kind: 'usage', usage: { inputTokens: 8100, outputTokens: 50, totalTokens: 8150, cachedInputTokens: 0, reasoningTokens: 0 } });
});

it('GenerateContent, as JSON and streamed: the tool-use prompt is input, thoughts are output', () => {
  const expected = { inputTokens: 8100, outputTokens: 50, totalTokens: 8150, cachedInputTokens: 0, reasoningTokens: 10 };
  expect(usageFromJson({ candidates: [], usageMetadata: metadata })).toEqual(expected);
  const stream = new StreamUsageExtractor();
  stream.push(`data: ${JSON.stringify({ candidates: [], usageMetadata: { ...metadata, candidatesTokenCount: 5, totalTokenCount: 8115 } })}\n\n`);
  stream.push(`data: ${JSON.stringify({ candidates: [], usageMetadata: metadata })}\n\n`);
  expect(stream.end()).toEqual(expected);
});

it('a total larger than the counts Edge reads is charged whole, the rest as output', () => {
  expect(usageFromJson({ usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 40, totalTokenCount: 500 } }))
    .toEqual({ inputTokens: 100, outputTokens: 400, totalTokens: 500, cachedInputTokens: 0, reasoningTokens: 0 });
  // A total that is smaller (some servers leave the thoughts out of it) takes nothing away.
  expect(usageFromJson({ usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 40, thoughtsTokenCount: 30, totalTokenCount: 140 } }))
    .toEqual({ inputTokens: 100, outputTokens: 70, totalTokens: 170, cachedInputTokens: 0, reasoningTokens: 30 });
  // Only a total: a cache's size (creating a cachedContent), which Gemini bills as input.
  expect(usageFromJson({ usageMetadata: { totalTokenCount: 90 } }))
    .toEqual({ inputTokens: 90, outputTokens: 0, totalTokens: 90, cachedInputTokens: 0, reasoningTokens: 0 });
});
