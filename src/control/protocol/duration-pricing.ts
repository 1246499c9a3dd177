import { z } from 'zod';

/**
 * Prices of the models billed by the length of the audio they take, not by tokens (whisper-1; a Realtime input
 * transcription whose usage the server reports as `{type: 'duration', seconds}`), in a policy bundle's
 * `duration_pricing`: model → USD a minute, keys `provider/model` or bare model names as in `pricing`. They override
 * Edge's built-in per-minute prices entry by entry (pricing.ts durationCost); a minute's part is charged its part.
 * The messages name the field and say what it takes, since an admin writes these by hand.
 */
/**
 * The dearest per-minute price a bundle may set. Transcription lists cents a minute at most (whisper-1 0.006), so
 * 1,000 USD is far past any real price, yet keeps a cost finite: an unbounded price (1e308) made a minute cost
 * Infinity, which no budget or record can hold. A price above it is a unit mistake, refused where the admin sets it.
 */
export const MAX_USD_PER_MINUTE = 1_000;

export const DurationPriceSchema = z.strictObject({
  usd_per_minute: z.number({ error: 'usd_per_minute must be a number: US dollars for one minute of audio (whisper-1 lists 0.006)' })
    .finite({ error: 'usd_per_minute must be a finite number of US dollars a minute' })
    .nonnegative({ error: 'usd_per_minute cannot be negative: US dollars for one minute of audio, 0 for a free model' })
    .max(MAX_USD_PER_MINUTE, { error: `usd_per_minute cannot be above ${MAX_USD_PER_MINUTE}: it is US dollars for one minute of audio (whisper-1 lists 0.006); check the unit` }),
}, { error: (issue) => (issue.code === 'unrecognized_keys'
  ? `a per-minute price takes only usd_per_minute (token prices go in pricing): remove ${issue.keys.join(', ')}`
  : 'a per-minute price is an object such as {"usd_per_minute": 0.006}') });

/** Model → per-minute price. A key must name a model: `provider/model` or a bare model name. */
const MODEL_KEY_MESSAGE = 'a duration_pricing key names a model: provider/model or a bare model name, without spaces';

export const DurationPricingSchema = z.record(
  z.string().regex(/^[^\s/]+(\/[^\s/]+)*$/, { error: MODEL_KEY_MESSAGE }),
  DurationPriceSchema,
  // The record's own issue for a bad key would only say "Invalid key in record".
  { error: (issue) => (issue.code === 'invalid_key' ? MODEL_KEY_MESSAGE : undefined) },
);

export type DurationPrice = z.output<typeof DurationPriceSchema>;
