import type { ModelPrice } from '../control/protocol/policy-bundle.js';
import type { NormalizedRequest } from '../providers/types.js';
import { estimateCost, lookupAudioPrice, lookupPrice } from './pricing.js';
import type { TokenUsage } from './usage.js';
import type { WindowTiming } from './window-period.js';

/**
 * What charging a request after its exchange is over needs (a background response's usage, its estimate, a
 * true-up of that estimate), without the request itself: its texts may be megabytes, and Edge keeps tens of
 * thousands of these for hours (background-responses.ts, background-true-ups.ts).
 */
export interface LateChargeTarget {
  keyId: string;
  /** The key's name, for budget alerts. */
  keyLabel: string;
  /** The bundle's prices when the request was decided: the bundle's own object, shared, not a copy. */
  pricing: Readonly<Record<string, ModelPrice>>;
  thresholds: readonly number[];
  /** The route's provider and model, which price the usage (a route naming no model: the model the answer names). */
  provider: string | undefined;
  model: string | null;
  /** The request as its audit record names it. */
  request: Pick<NormalizedRequest, 'provider' | 'model' | 'operation'>;
  /** Where it went (its own record's method, host and path), and the app that sent it. */
  target: { method: string; host: string; path: string };
  app: string;
}

/** One token or spend window a late charge went to: how much, and into which run of the window. */
export interface ChargedWindow {
  counterKey: string;
  metric: 'tokens' | 'spend';
  /** The window's duration or calendar period (the LimitWindow's, without the rest of it). */
  timing: WindowTiming;
  /** The start of the run of the window the amount went into; undefined when nothing was added. */
  windowStartMs?: number;
  amount: number;
}

/**
 * What `usage` costs on `target`'s route. A route naming no model (a stored prompt, an Assistants run) is priced by
 * the model its answer names; with neither (a Realtime call's sideband socket) at the fallback rates, not nothing;
 * audio at the model's audio rate (pricing.ts).
 */
export function priceOf(target: LateChargeTarget, usage: TokenUsage, answeredModel: string | undefined): { costUsd: number; priceSource: string } {
  const model = target.model ?? answeredModel ?? null;
  const lookup = lookupPrice(target.provider, model, target.pricing);
  const audio = usage.audioInputTokens || usage.audioOutputTokens ? lookupAudioPrice(target.provider, model, lookup.price) : lookup.price;
  return { costUsd: estimateCost(usage, lookup.price, audio), priceSource: lookup.source };
}
