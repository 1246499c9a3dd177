import type { Agent } from 'undici';
import tls from 'node:tls';
import { z } from 'zod';
import { joinUrl } from './upstream-plan.js';
import { readGatewayUrl, type GatewayUrlSource } from './gateway-url.js';
import { undici } from '../util/undici-on-demand.js';

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
  /** The gateway requests go to (read per check: a new policy bundle can move it); undefined while there is none. */
  gatewayUrl: GatewayUrlSource;
  timeoutMs?: number;
  extraCaPems?: string[];
}

/**
 * Asks the Bifrost gateway's moderation route (OpenAI format, `/openai/v1/moderations`) to score
 * text, authenticated by the employee's virtual key. Throws with a clear message when the gateway
 * does not answer or answers something else; the caller applies the fail mode.
 */
export class ModerationClient {
  /** Made on the first check: most devices never ask for moderation (see undici-on-demand). */
  private dispatcher: Agent | undefined;

  constructor(private readonly options: ModerationClientOptions) {}

  private async connection(): Promise<{ request: typeof import('undici').request; dispatcher: Agent }> {
    const { request, Agent } = await undici();
    if (!this.dispatcher) {
      const ca = this.options.extraCaPems?.length ? [...tls.rootCertificates, ...this.options.extraCaPems] : undefined;
      this.dispatcher = new Agent({ ...(ca ? { connect: { ca } } : {}) });
    }
    return { request, dispatcher: this.dispatcher };
  }

  async moderate(input: string[], model: string, virtualKey: string | undefined): Promise<ModerationVerdict> {
    const gatewayUrl = readGatewayUrl(this.options.gatewayUrl);
    if (gatewayUrl === undefined) {
      throw new Error('no Bifrost gateway is configured (gateway.url, or the policy bundle\'s gateway.url), so content safety cannot ask its moderation route; set gateway.url or turn content safety off');
    }
    const url = joinUrl(gatewayUrl, '/openai/v1/moderations');
    const timeout = this.options.timeoutMs ?? 10_000;
    const { request, dispatcher } = await this.connection();
    const res = await request(url, {
      method: 'POST',
      dispatcher,
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

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
