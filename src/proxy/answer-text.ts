import { SseEventParser } from '../policy/sse-events.js';

/** Keys under which provider answers carry generated text (OpenAI chat/Responses, Anthropic, Gemini). */
const TEXT_KEYS = new Set(['content', 'text', 'delta', 'partial_json', 'arguments', 'refusal', 'output_text']);
/**
 * Keys under which OpenAI answers carry citations: Responses' `annotations` on an output text and the `annotation`
 * of its streamed annotation.added event, Chat's `annotations` on a message or delta (each with a `url_citation`).
 */
const ANNOTATION_KEYS = new Set(['annotations', 'annotation']);
/**
 * What a citation shows the user beside the text: a page's title and address. A web page can put anything there
 * (a title is as much generated output as the text it annotates, and an address can carry data in its query), so
 * they are read as answer text; offsets and ids are not.
 */
const CITATION_TEXT_KEYS = new Set(['title', 'url']);

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

/**
 * Every string under a text-carrying key, in document order; inside citations also their titles and addresses, each
 * on a line of its own (a title must not run into the text around it and make a match neither holds). Logprobs are
 * not read: their tokens repeat the text.
 */
export function extractAnswerText(value: unknown, key?: string): string {
  return answerTextOf(value, key, false);
}

function answerTextOf(value: unknown, key: string | undefined, inCitation: boolean): string {
  if (typeof value === 'string') {
    if (key === undefined) return '';
    if (TEXT_KEYS.has(key)) return value;
    return inCitation && CITATION_TEXT_KEYS.has(key) ? `\n${value}\n` : '';
  }
  if (Array.isArray(value)) return value.map((v) => answerTextOf(v, key, inCitation)).join('');
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => answerTextOf(v, k, inCitation || ANNOTATION_KEYS.has(k))).join('');
  }
  return '';
}
