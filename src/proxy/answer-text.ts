import { SseEventParser } from '../policy/sse-events.js';

/** Keys under which provider answers carry generated text (OpenAI chat/Responses, Anthropic, Gemini). */
const TEXT_KEYS = new Set(['content', 'text', 'delta', 'partial_json', 'arguments', 'refusal', 'output_text']);

export interface AnswerTextReader {
  /** Feeds raw body bytes; returns the answer text they completed (possibly ''). */
  push(chunk: Buffer): string;
  /** End of body: the rest of the text. */
  end(): string;
}

/**
 * The generated text of a provider answer, as it streams: SSE events are parsed one by one and
 * their text fields joined, so a secret split over token events is scanned as one string (the raw
 * stream would have JSON framing between its pieces). A JSON answer is read whole, up to `maxBytes`.
 */
export function createAnswerTextReader(contentType: string | undefined, maxBytes: number): AnswerTextReader | undefined {
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('text/event-stream')) {
    let pending = '';
    const parser = new SseEventParser((event) => {
      if (!event.data || event.data === '[DONE]') return;
      try {
        pending += extractAnswerText(JSON.parse(event.data));
      } catch {
        // Not JSON: nothing of a known shape to read.
      }
    });
    const take = () => {
      const out = pending;
      pending = '';
      return out;
    };
    return { push: (chunk) => (parser.push(chunk), take()), end: () => (parser.end(), take()) };
  }
  if (type.includes('json')) {
    const chunks: Buffer[] = [];
    let size = 0;
    return {
      push: (chunk) => {
        if (size + chunk.length <= maxBytes) chunks.push(chunk);
        size += chunk.length;
        return '';
      },
      end: () => {
        if (size > maxBytes) return '';
        try {
          return extractAnswerText(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          return '';
        }
      },
    };
  }
  return undefined;
}

/** Every string under a text-carrying key, in document order. */
export function extractAnswerText(value: unknown, key?: string): string {
  if (typeof value === 'string') return key !== undefined && TEXT_KEYS.has(key) ? value : '';
  if (Array.isArray(value)) return value.map((v) => extractAnswerText(v, key)).join('');
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => extractAnswerText(v, k)).join('');
  }
  return '';
}
