import type { DurationPrice } from '../control/protocol/duration-pricing.js';
import type { ModelPrice } from '../control/protocol/policy-bundle.js';
import { modelNameKey } from './model-name-key.js';
import type { TokenUsage } from './usage.js';

/**
 * Spend estimates for local budgets: USD per million tokens, input and output. The policy bundle's
 * `pricing` overrides this built-in table entry by entry; the gateway's own cost accounting stays the
 * authority, this only has to be close enough to stop a runaway loop before the gateway does.
 *
 * Lookups try `provider/model`, then the bare model, then the same with a release suffix removed
 * (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`), then the longest
 * table entry the model name extends at a `-` boundary (`gpt-4.1-mini-xyz` → `gpt-4.1-mini`). A model
 * nobody priced (or a request naming no model) is charged FALLBACK_PRICE, deliberately on the expensive side:
 * an unpriced model must not be a way around a budget.
 *
 * Speech models (OpenAI Realtime and audio models, Gemini Live and native audio) bill audio at 10–40 times their
 * text, and their sessions never reach the gateway, so what Edge charges is the only accounting of them. Hence:
 * - audio tokens (TokenUsage.audioInputTokens / audioOutputTokens) are charged at the model's audio rate,
 *   DEFAULT_AUDIO_PRICES (the bundle's price format has no audio rates), which also lists the text models that take
 *   audio in at their own rate (transcription models, Gemini's Flash and Pro); a model that table does not know is
 *   charged the dearest audio rate it has for the provider (of every provider when it has none for this one) when
 *   its name is a speech model's (or it names none), else its text rate; an audio rate is never below the model's
 *   text rate;
 * - a speech model's name (`-realtime`, `-audio`, `-live`, `-transcribe`, `-tts`) never takes the price of the text
 *   model it extends by prefix (`gpt-4o-mini-realtime-x` is not `gpt-4o-mini`): like a premium variant, at least
 *   FALLBACK_PRICE.
 */

export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  // OpenAI
  'gpt-5': { input_per_mtok: 1.25, output_per_mtok: 10 },
  'gpt-5-mini': { input_per_mtok: 0.25, output_per_mtok: 2 },
  'gpt-5-nano': { input_per_mtok: 0.05, output_per_mtok: 0.4 },
  'gpt-4.1': { input_per_mtok: 2, output_per_mtok: 8 },
  'gpt-4.1-mini': { input_per_mtok: 0.4, output_per_mtok: 1.6 },
  'gpt-4.1-nano': { input_per_mtok: 0.1, output_per_mtok: 0.4 },
  'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'gpt-5-pro': { input_per_mtok: 15, output_per_mtok: 120 },
  'gpt-4.5': { input_per_mtok: 75, output_per_mtok: 150 },
  'gpt-4-turbo': { input_per_mtok: 10, output_per_mtok: 30 },
  'gpt-4': { input_per_mtok: 30, output_per_mtok: 60 },
  'o1': { input_per_mtok: 15, output_per_mtok: 60 },
  'o1-pro': { input_per_mtok: 150, output_per_mtok: 600 },
  'o1-mini': { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  'o3': { input_per_mtok: 2, output_per_mtok: 8 },
  'o3-pro': { input_per_mtok: 20, output_per_mtok: 80 },
  'o3-mini': { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  'o4-mini': { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  'text-embedding-3-small': { input_per_mtok: 0.02, output_per_mtok: 0 },
  'text-embedding-3-large': { input_per_mtok: 0.13, output_per_mtok: 0 },
  // Anthropic
  'claude-opus-4-5': { input_per_mtok: 5, output_per_mtok: 25 },
  'claude-opus-4-1': { input_per_mtok: 15, output_per_mtok: 75 },
  'claude-opus-4': { input_per_mtok: 15, output_per_mtok: 75 },
  'claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-sonnet-4': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-3-7-sonnet': { input_per_mtok: 3, output_per_mtok: 15 },
  'claude-haiku-4-5': { input_per_mtok: 1, output_per_mtok: 5 },
  'claude-3-5-haiku': { input_per_mtok: 0.8, output_per_mtok: 4 },
  'claude-3-opus': { input_per_mtok: 15, output_per_mtok: 75 },
  // Google
  'gemini-2.5-pro': { input_per_mtok: 1.25, output_per_mtok: 10 },
  'gemini-2.5-flash': { input_per_mtok: 0.3, output_per_mtok: 2.5 },
  'gemini-2.5-flash-lite': { input_per_mtok: 0.1, output_per_mtok: 0.4 },
  'gemini-2.0-flash': { input_per_mtok: 0.1, output_per_mtok: 0.4 },
  // Speech models' text rates (their audio: DEFAULT_AUDIO_PRICES).
  'gpt-realtime': { input_per_mtok: 4, output_per_mtok: 16 },
  'gpt-realtime-mini': { input_per_mtok: 0.6, output_per_mtok: 2.4 },
  'gpt-4o-realtime-preview': { input_per_mtok: 5, output_per_mtok: 20 },
  'gpt-4o-mini-realtime-preview': { input_per_mtok: 0.6, output_per_mtok: 2.4 },
  'gpt-audio': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-audio-mini': { input_per_mtok: 0.6, output_per_mtok: 2.4 },
  'gpt-4o-audio-preview': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-4o-mini-audio-preview': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'gpt-4o-transcribe': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'gpt-4o-mini-transcribe': { input_per_mtok: 1.25, output_per_mtok: 5 },
  'gemini-2.5-flash-native-audio': { input_per_mtok: 0.5, output_per_mtok: 2 },
  'gemini-live-2.5-flash': { input_per_mtok: 0.5, output_per_mtok: 2 },
  'gemini-2.0-flash-live': { input_per_mtok: 0.35, output_per_mtok: 1.5 },
  // Others
  'mistral-large-latest': { input_per_mtok: 2, output_per_mtok: 6 },
  'mistral-medium-latest': { input_per_mtok: 0.4, output_per_mtok: 2 },
  'mistral-small-latest': { input_per_mtok: 0.1, output_per_mtok: 0.3 },
  'codestral-latest': { input_per_mtok: 0.3, output_per_mtok: 0.9 },
  'grok-4': { input_per_mtok: 3, output_per_mtok: 15 },
  'grok-3-mini': { input_per_mtok: 0.3, output_per_mtok: 0.5 },
  'deepseek-chat': { input_per_mtok: 0.28, output_per_mtok: 0.42 },
  'deepseek-reasoner': { input_per_mtok: 0.28, output_per_mtok: 0.42 },
  'llama-3.3-70b-versatile': { input_per_mtok: 0.59, output_per_mtok: 0.79 },
  'llama-3.1-8b-instant': { input_per_mtok: 0.05, output_per_mtok: 0.08 },
  'sonar': { input_per_mtok: 1, output_per_mtok: 1 },
  'sonar-pro': { input_per_mtok: 3, output_per_mtok: 15 },
};

/**
 * Audio rates of the speech models, and of the text models that take audio in (transcription, Gemini's Flash and
 * Pro), USD per million audio tokens (list prices, 2025), qualified by provider: a speech model of a provider this
 * table does not know is charged the dearest rate of that provider's entries. A model that answers only in text has
 * its text output rate as its audio output rate (never used, and never below the text rate).
 */
export const DEFAULT_AUDIO_PRICES: Readonly<Record<string, ModelPrice>> = {
  'openai/gpt-realtime': { input_per_mtok: 32, output_per_mtok: 64 },
  'openai/gpt-realtime-mini': { input_per_mtok: 10, output_per_mtok: 20 },
  'openai/gpt-4o-realtime-preview': { input_per_mtok: 40, output_per_mtok: 80 },
  'openai/gpt-4o-mini-realtime-preview': { input_per_mtok: 10, output_per_mtok: 20 },
  'openai/gpt-audio': { input_per_mtok: 32, output_per_mtok: 64 },
  'openai/gpt-audio-mini': { input_per_mtok: 10, output_per_mtok: 20 },
  'openai/gpt-4o-audio-preview': { input_per_mtok: 40, output_per_mtok: 80 },
  'openai/gpt-4o-mini-audio-preview': { input_per_mtok: 10, output_per_mtok: 20 },
  'openai/gpt-4o-transcribe': { input_per_mtok: 6, output_per_mtok: 10 },
  'openai/gpt-4o-mini-transcribe': { input_per_mtok: 3, output_per_mtok: 5 },
  'gemini/gemini-2.5-flash-native-audio': { input_per_mtok: 3, output_per_mtok: 12 },
  'gemini/gemini-live-2.5-flash': { input_per_mtok: 3, output_per_mtok: 12 },
  'gemini/gemini-2.0-flash-live': { input_per_mtok: 2.1, output_per_mtok: 8.5 },
  // Audio input to the text models (their text output rate as output; Pro bills audio as text).
  'gemini/gemini-2.5-pro': { input_per_mtok: 1.25, output_per_mtok: 10 },
  'gemini/gemini-2.5-flash': { input_per_mtok: 1, output_per_mtok: 2.5 },
  'gemini/gemini-2.5-flash-lite': { input_per_mtok: 0.3, output_per_mtok: 0.4 },
  'gemini/gemini-2.0-flash': { input_per_mtok: 0.7, output_per_mtok: 0.4 },
};

/**
 * Charged for models no table prices, and the least a premium variant the tables only know the base of
 * is charged: the price of the dearest frontier models in general use (Claude Opus 4, o1), so an
 * estimate errs towards stopping. (The very dearest, such as o1-pro, are in the table.)
 */
export const FALLBACK_PRICE: ModelPrice = { input_per_mtok: 15, output_per_mtok: 75 };

/**
 * A name that extends a priced model with one of these is a premium variant of it (o1 → o1-pro costs
 * ten times more): the base model's price would let spend through a budget, so at least the fallback.
 */
const PREMIUM_VARIANT = /-(pro|max|ultra|opus|deep-research)(-|$)/;

/**
 * A name with one of these is a speech model's: one extending a priced model is billed far above the text model
 * (above), and one the audio table does not know is charged the dearest audio rate.
 */
const SPEECH_VARIANT = /-(realtime|audio|native-audio|live|transcribe|tts)(-|$)/;

export interface PriceLookup {
  price: ModelPrice;
  /** Which table answered and under which entry: `bundle:openai/gpt-4o`, `built-in:gpt-4o`, `fallback`. */
  source: string;
}

/** Release suffixes: `-2024-08-06`, `-20250929`, `-latest`, `-001`, `-preview-05-20`. */
const RELEASE_SUFFIX = /(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-\d{3}|-preview(-\d{2}-\d{2})?|-exp(-\d{2}-\d{2})?)$/;

export function lookupPrice(provider: string | undefined, sent: string | null, overrides: Readonly<Record<string, ModelPrice>> = {}): PriceLookup {
  if (sent === null) return { price: FALLBACK_PRICE, source: 'fallback:no-model' };
  const model = nameKey(provider, sent);
  const tables = [[keyedTable(provider, overrides), 'bundle'], [keyedTable(provider, DEFAULT_PRICES), 'built-in']] as const;
  // Exact names (with release suffixes removed) in either table beat a prefix match in either table:
  // a bundle price for `gpt-4o` must not price `gpt-4o-mini`, which the built-in table knows exactly.
  for (const [table, name] of tables) {
    const hit = exactMatch(table, provider, model);
    if (hit) return { price: hit.price, source: `${name}:${hit.entry}` };
  }
  let best: (PriceLookup & { length: number }) | undefined;
  for (const [table, name] of tables) {
    const hit = prefixMatch(table, provider, model);
    if (hit && (!best || hit.length > best.length)) best = { price: hit.price, source: `${name}:${hit.entry}`, length: hit.length };
  }
  if (!best) return { price: FALLBACK_PRICE, source: 'fallback' };
  const rest = model.slice(best.length);
  if (PREMIUM_VARIANT.test(rest)) return { price: dearer(best.price, FALLBACK_PRICE), source: `${best.source}+premium-variant` };
  if (SPEECH_VARIANT.test(rest)) return { price: dearer(best.price, FALLBACK_PRICE), source: `${best.source}+speech-variant` };
  return { price: best.price, source: best.source };
}

/**
 * The audio rate of `model` (null: a session naming none), never below `text`, its text rate: the built-in audio
 * table's entry for it (exactly, without its release suffix, or the longest it extends, unless what it adds names a
 * speech model: `gemini-2.5-flash-preview-tts` is not `gemini-2.5-flash`); else, for a speech model's name or none,
 * or a text model's name on a provider that runs speech around it (SPEECH_AROUND_TEXT_MODELS), the dearest of that
 * provider's entries (of all entries when the provider has none); else its text rate (a text model the table does not
 * know whose answer reports audio tokens).
 */
export function lookupAudioPrice(provider: string | undefined, sent: string | null, text: ModelPrice): ModelPrice {
  if (sent === null) return dearer(dearestAudioPrice(provider), text);
  const model = nameKey(provider, sent);
  const prefix = prefixMatch(DEFAULT_AUDIO_PRICES, provider, model);
  const extendsAsSpeech = prefix !== undefined && SPEECH_VARIANT.test(model.slice(prefix.length));
  const known = exactMatch(DEFAULT_AUDIO_PRICES, provider, model) ?? (extendsAsSpeech ? undefined : prefix);
  if (known) return dearer(known.price, text);
  if (SPEECH_VARIANT.test(model) || runsSpeechAroundTextModel(provider, sent)) return dearer(dearestAudioPrice(provider), text);
  return text;
}

/**
 * Providers whose audio on a text model's name is a speech pipeline's, not the text model's. Azure: a Voice Live
 * session names a text model (`?model=gpt-4o`, `gpt-4.1`, `gpt-4o-mini`) and its audio is heard and spoken by Azure's
 * speech pipeline around it, billed at audio rates some ten to a hundred times the text model's (a deployment named
 * after a model, on Azure's Realtime routes, runs a speech model too). The table holds no Azure audio prices, and Edge
 * invents none per model: such audio is charged the dearest audio rate Edge knows (dearestAudioPrice: of all entries,
 * OpenAI's gpt-4o-realtime-preview today, whose models Azure serves), so a spend window errs towards stopping, as for
 * any unpriced speech model. A name the text table does not know (a deployment's own, `voice-prod`) keeps the
 * fallback rate, as before.
 */
const SPEECH_AROUND_TEXT_MODELS: ReadonlySet<string> = new Set(['azure']);

/** Whether `sent` names a text model the built-in table prices, on a provider in SPEECH_AROUND_TEXT_MODELS. */
function runsSpeechAroundTextModel(provider: string | undefined, sent: string): boolean {
  return provider !== undefined && SPEECH_AROUND_TEXT_MODELS.has(provider) && lookupPrice(provider, sent).source.startsWith('built-in:');
}

/**
 * What `usage` costs at `model` on the built-in tables alone (text and audio rates; a `provider/` prefix removed, as
 * the route removes it). Only where no decision's own price is at hand (a live session's charge without policy's
 * priceOf, websocket-session-usage.ts): the charge itself prices the route's model with the bundle's prices.
 */
export function listCost(provider: string | undefined, model: string | null, usage: TokenUsage): number {
  const bare = model !== null && provider !== undefined && model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
  const text = lookupPrice(provider, bare).price;
  return estimateCost(usage, text, lookupAudioPrice(provider, bare, text));
}

/**
 * Models billed by the length of the audio they take, not by tokens, USD a minute (list prices, 2025: whisper-1
 * $0.006 a minute), qualified by provider. A Realtime input transcription on one reports `usage: {type: 'duration',
 * seconds}`. The bundle's `duration_pricing` overrides this table entry by entry (as `pricing` overrides the token
 * prices); a model billed so that neither knows is charged the dearest entry of its provider in either (of all
 * entries when it has none), as an unpriced model must not be a way around a budget.
 */
export const DEFAULT_DURATION_PRICES: Readonly<Record<string, DurationPrice>> = {
  'openai/whisper-1': { usd_per_minute: 0.006 },
};

/**
 * The longest audio one charge bills: 10^15 seconds (some 30 million years). No real report comes near; a longer one
 * (or Infinity) is charged as this bound: at the cheapest listed price (whisper-1, $0.006 a minute) $10^11, past any
 * budget a company sets (a year, $3,154, was not: budgets have no upper bound), while the dearest price a bundle may
 * set ($1,000 a minute) gives ~1.7 x 10^16, which sums of any number of such charges keep finite. Infinity is what
 * must never reach a counter or record: no column holds it, and a sum past it stays Infinity for good.
 */
export const MAX_BILLED_SECONDS = 1e15;

/**
 * The seconds a charge bills, kept to a number every budget sum can take. Not a number, or negative, is the caller's
 * error (the server's reports are checked where they are read, websocket-usage.ts): nothing measurable was
 * transcribed, so it costs nothing. A NaN cost fails the counter write (the charge throws, and is lost) and, in any
 * sum, passes every budget check from then on. Past MAX_BILLED_SECONDS, the bound: charged, not dropped.
 */
function billableSeconds(seconds: number): number {
  if (Number.isNaN(seconds) || seconds < 0) return 0;
  return Math.min(seconds, MAX_BILLED_SECONDS);
}

/**
 * What `seconds` of audio cost on `model`, and which entry priced them (`bundle:openai/whisper-1`,
 * `built-in:openai/whisper-1`, `fallback:duration`): the bundle's per-minute prices (`overrides`) first, then the
 * built-in ones, each tried under the model's names from the most specific (`provider/model`, then bare, then without
 * its release suffix): the bundle's entry for a model, under any of its names, is the company's price for it.
 * Always a finite cost of 0 or more (billableSeconds; the prices are finite and bounded, duration-pricing.ts).
 */
export function durationCost(
  provider: string | undefined, model: string | null, seconds: number, overrides: Readonly<Record<string, DurationPrice>> = {},
): { costUsd: number; priceSource: string } {
  const tables = [[keyedTable(provider, overrides), 'bundle'], [keyedTable(provider, DEFAULT_DURATION_PRICES), 'built-in']] as const;
  const names = model === null ? [] : candidateNames(nameKey(provider, model)).flatMap((name) => (provider !== undefined ? [`${provider}/${name}`, name] : [name]));
  const billed = billableSeconds(seconds);
  const perMinute = (price: DurationPrice, source: string) => ({ costUsd: (billed / 60) * price.usd_per_minute, priceSource: source });
  for (const [table, source] of tables) {
    for (const name of names) {
      const price = Object.hasOwn(table, name) ? table[name] : undefined;
      if (price) return perMinute(price, `${source}:${name}`);
    }
  }
  const entries = tables.flatMap(([table]) => Object.entries(table));
  const own = entries.filter(([entry]) => provider !== undefined && entry.startsWith(`${provider}/`));
  const dearest = (own.length > 0 ? own : entries).map(([, price]) => price).reduce((a, b) => (b.usd_per_minute > a.usd_per_minute ? b : a));
  return perMinute(dearest, 'fallback:duration');
}

/** The model's name as `provider` tells its models apart (model-name-key.ts): an Azure deployment in any letter case. */
function nameKey(provider: string | undefined, model: string): string {
  return provider === undefined ? model : modelNameKey(provider, model);
}

const keyedTables = new WeakMap<object, Map<string, Readonly<Record<string, unknown>>>>();

/**
 * `table` with its entries named as `provider` tells its models apart (nameKey), so that `azure/GPT4o-Prod` in the
 * bundle prices deployment `gpt4o-prod` and `O1-PRO` is priced as `o1-pro`. Two entries that become one are charged
 * the dearer of each rate (input and output apart: keeping the entry with the larger sum would charge `emb`, priced
 * 100 input / 0 output, at another spelling's 1 input): an estimate errs towards stopping. The table itself where names are exact; kept per table object
 * (the bundle's own, shared by every charge) so each is rewritten once.
 */
function keyedTable<P extends ModelPrice | DurationPrice>(provider: string | undefined, table: Readonly<Record<string, P>>): Readonly<Record<string, P>> {
  if (provider === undefined || modelNameKey(provider, 'A') === 'A') return table;
  let byProvider = keyedTables.get(table);
  if (byProvider === undefined) keyedTables.set(table, byProvider = new Map());
  const known = byProvider.get(provider) as Readonly<Record<string, P>> | undefined;
  if (known !== undefined) return known;
  const keyed: Record<string, P> = {};
  for (const [entry, price] of Object.entries(table)) {
    const name = modelNameKey(provider, entry);
    const other = Object.hasOwn(keyed, name) ? keyed[name] : undefined;
    keyed[name] = other === undefined ? price : dearerRates(price, other);
  }
  byProvider.set(provider, keyed);
  return keyed;
}

/** Each rate the dearer of the two (one table holds one kind of price: per token, or per minute). */
function dearerRates<P extends ModelPrice | DurationPrice>(a: P, b: P): P {
  if ('usd_per_minute' in a && 'usd_per_minute' in b) return { usd_per_minute: Math.max(a.usd_per_minute, b.usd_per_minute) } as P;
  return dearer(a as ModelPrice, b as ModelPrice) as P;
}

function dearestAudioPrice(provider: string | undefined): ModelPrice {
  const entries = Object.entries(DEFAULT_AUDIO_PRICES);
  const own = entries.filter(([entry]) => provider !== undefined && entry.startsWith(`${provider}/`));
  return (own.length > 0 ? own : entries).map(([, price]) => price).reduce(dearer);
}

function dearer(a: ModelPrice, b: ModelPrice): ModelPrice {
  return { input_per_mtok: Math.max(a.input_per_mtok, b.input_per_mtok), output_per_mtok: Math.max(a.output_per_mtok, b.output_per_mtok) };
}

function exactMatch(table: Readonly<Record<string, ModelPrice>>, provider: string | undefined, model: string): { price: ModelPrice; entry: string } | undefined {
  for (const name of candidateNames(model)) {
    for (const entry of provider !== undefined ? [`${provider}/${name}`, name] : [name]) {
      const price = Object.hasOwn(table, entry) ? table[entry] : undefined;
      if (price) return { price, entry };
    }
  }
  return undefined;
}

/** The longest entry the model extends at a `-` boundary; an entry qualified with another provider never counts. */
function prefixMatch(table: Readonly<Record<string, ModelPrice>>, provider: string | undefined, model: string): { price: ModelPrice; entry: string; length: number } | undefined {
  let best: { price: ModelPrice; entry: string; length: number } | undefined;
  for (const [entry, price] of Object.entries(table)) {
    const qualifiedHere = provider !== undefined && entry.startsWith(`${provider}/`);
    const bare = qualifiedHere ? entry.slice(provider.length + 1) : entry;
    if (!qualifiedHere && entry.includes('/') && !model.includes('/')) continue;
    const longer = !best || bare.length > best.length || (bare.length === best.length && qualifiedHere);
    if (model.startsWith(`${bare}-`) && longer) best = { price, entry, length: bare.length };
  }
  return best;
}

/**
 * The model's name and the names it has with its release suffixes removed one by one (`gpt-4o-2024-08-06` →
 * `gpt-4o`): the names under which a server's answer may say it runs a model the client asked for by its alias.
 */
export function candidateNames(model: string): string[] {
  const names = [model];
  let current = model;
  while (RELEASE_SUFFIX.test(current)) {
    current = current.replace(RELEASE_SUFFIX, '');
    if (current === '' || names.includes(current)) break;
    names.push(current);
  }
  return names;
}

/**
 * USD for one response. Cached and cache-write input tokens are charged at the input price: the bundle's
 * price format has no cache rates. That over-estimates cache reads (billed at a tenth or so) and
 * under-estimates Anthropic's cache writes (billed 1.25–2× input); reads are by far the more common.
 * Audio tokens are charged at `audio` (lookupAudioPrice) when given, else at the text price; cached audio
 * (TokenUsage.cachedAudioInputTokens) like cached text, at the text input price: providers bill it near their cached
 * text rate (gpt-realtime: $0.40 per Mtok cached audio, $4 text, $32 fresh audio), and Edge knows no cache rates.
 */
export function estimateCost(usage: TokenUsage, price: ModelPrice, audio: ModelPrice = price): number {
  const audioIn = Math.min(usage.audioInputTokens ?? 0, usage.inputTokens);
  const freshAudioIn = audioIn - Math.min(usage.cachedAudioInputTokens ?? 0, audioIn);
  const audioOut = Math.min(usage.audioOutputTokens ?? 0, usage.outputTokens);
  return ((usage.inputTokens - freshAudioIn) * price.input_per_mtok + freshAudioIn * audio.input_per_mtok
    + (usage.outputTokens - audioOut) * price.output_per_mtok + audioOut * audio.output_per_mtok) / 1_000_000;
}
