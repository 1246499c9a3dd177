import { request, Agent } from 'undici';
import tls from 'node:tls';
import { z } from 'zod';
import { joinUrl } from './upstream-plan.js';

/** The part of an OpenAI-format moderation answer Edge reads. */
const ModerationResponseSchema = z.object({
  results: z.array(z.object({ category_scores: z.record(z.string(), z.number()) })).min(1),
});

export interface ModerationVerdict {
  /** The highest category score over all inputs, and which category it was. */
  score: number;
  category: string;
}

export interface ModerationClientOptions {
  gatewayUrl: string;
  timeoutMs?: number;
  extraCaPems?: string[];
}

/**
 * Asks the Bifrost gateway's moderation route (OpenAI format, `/openai/v1/moderations`) to score
 * text, authenticated by the employee's virtual key. Throws with a clear message when the gateway
 * does not answer or answers something else; the caller applies the fail mode.
 */
export class ModerationClient {
  private readonly dispatcher: Agent;

  constructor(private readonly options: ModerationClientOptions) {
    const ca = options.extraCaPems?.length ? [...tls.rootCertificates, ...options.extraCaPems] : undefined;
    this.dispatcher = new Agent({ ...(ca ? { connect: { ca } } : {}) });
  }

  async moderate(input: string[], model: string, virtualKey: string | undefined): Promise<ModerationVerdict> {
    const url = joinUrl(this.options.gatewayUrl, '/openai/v1/moderations');
    const timeout = this.options.timeoutMs ?? 10_000;
    const res = await request(url, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: { 'content-type': 'application/json', ...(virtualKey ? { 'x-bf-vk': virtualKey } : {}) },
      body: JSON.stringify({ model, input }),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new Error(`the gateway's moderation route answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    }
    const parsed = ModerationResponseSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new Error('the gateway\'s moderation route did not answer in the OpenAI moderation format');
    let best: ModerationVerdict = { score: 0, category: 'none' };
    for (const result of parsed.data.results) {
      for (const [category, score] of Object.entries(result.category_scores)) {
        if (score > best.score) best = { score, category };
      }
    }
    return best;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
