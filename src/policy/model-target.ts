import type { RoutingMode } from '../control/protocol/policy-bundle.js';
import type { VirtualKey } from '../control/protocol/virtual-key.js';
import { allowListAdmits, blockListBlocks } from './model-access.js';
import { knownProviderPrefixes, parseModelString } from './provider-names.js';

/**
 * Which Bifrost provider and model a request will be governed as, the way the gateway resolves it:
 *
 * - Gateway mode, first-party routes (`/openai`, `/anthropic`, `/genai`): the body's model goes to Bifrost
 *   unchanged. `provider/model` with a known provider prefix pins the provider; a bare model is
 *   load-balanced across the key's provider configs that admit it (blacklist first, configs whose budget or
 *   rate limit is spent are skipped, configs without a weight take no part). When no config is eligible the
 *   model stays bare and the route's own provider answers it.
 * - Gateway mode, OpenAI-compatible third parties: Edge qualifies the model with the surface's provider
 *   (src/gateway/bifrost-routes.ts), so the provider is always the surface's.
 * - Pass-through and local modes: the request goes to the surface's provider with the model as sent.
 *
 * Load balancing on the gateway is a weighted random choice; the device cannot predict it, so it evaluates
 * the provider it expects (the surface's own provider when eligible, else the heaviest eligible config) and
 * lists every eligible candidate. The gateway stays authoritative.
 *
 * Candidates are picked by Bifrost's exact names, as the gateway picks them, but a candidate's origin may read the name
 * more loosely (Azure matches deployments in any letter case, modelNameKey): a config whose deny rule names `gpt-4o`
 * stays a candidate for `GPT-4O` at the gateway, and Azure would then serve the denied deployment. So a candidate whose
 * deny rule matches under its origin's rule is the one evaluated, and the request is refused as it would be there.
 * That check runs over every config that admits the name, spent or not (`mayServe`): the gateway counts spent-ness
 * with its own counters, which may not agree with the device's, so a config the device thinks spent may still serve.
 */

/** Surfaces whose model Bifrost receives exactly as the app sent it. */
const FIRST_PARTY = new Set(['openai', 'anthropic', 'gemini']);

/**
 * Which providers serve a model family, standing in for the gateway's model catalog when a config allows
 * `["*"]`: such a config admits a bare model only if its provider actually serves it, so `gpt-4o` is not
 * load-balanced onto an `anthropic: ["*"]` config. The surface the app called always counts as serving it.
 */
const MODEL_FAMILIES: ReadonlyArray<[RegExp, readonly string[]]> = [
  [/^(gpt-|o\d|chatgpt-|codex-|text-embedding-(3|ada)|dall-e|whisper|tts-|omni-moderation|computer-use)/, ['openai', 'azure']],
  [/^claude-/, ['anthropic', 'bedrock', 'vertex']],
  [/^(gemini-|gemma-|text-embedding-00|embedding-00|imagen-)/, ['gemini', 'vertex']],
  [/^(mistral-|mixtral-|codestral-|ministral-|pixtral-|magistral-|devstral-|open-mistral|open-mixtral)/, ['mistral']],
  [/^grok-/, ['xai']],
  [/^deepseek-/, ['deepseek']],
  [/^(llama-|llama3|meta-llama|qwen|moonshotai|openai\/gpt-oss)/, ['groq', 'cerebras']],
  [/^command-/, ['cohere', 'bedrock']],
  [/^sonar/, ['perplexity']],
];

export function providerServesModel(provider: string, model: string, surfaceProvider: string): boolean {
  if (provider === surfaceProvider) return true;
  const lower = model.toLowerCase();
  return MODEL_FAMILIES.some(([pattern, providers]) => pattern.test(lower) && providers.includes(provider));
}

export interface TargetInput {
  key: VirtualKey;
  /** The Bifrost provider of the surface the app called (bifrostProviderFor). */
  surfaceProvider: string;
  /** The model as the app sent it; null when the route carries none. */
  model: string | null;
  mode: RoutingMode;
  /** True when the device's counters say this provider config's rate limit or budget is spent. */
  isSpent(provider: string): boolean;
}

export interface Target {
  provider: string;
  /** The model without a provider prefix; null when the request names none. */
  model: string | null;
  /** True when the gateway will choose among several providers (bare model, several eligible configs). */
  loadBalanced: boolean;
  /** Providers the gateway may pick for a bare model, by the device's counters (empty when the provider is fixed). */
  candidates: string[];
  /**
   * Providers whose configs admit the bare model whatever the device's counters say (a superset of `candidates`; empty
   * when the provider is fixed): the gateway decides spent-ness itself, so a refusal that follows an origin's reading
   * of the name (a deny rule after folding, a name that cannot be folded) holds for each of them.
   */
  mayServe: string[];
}

export function resolveTarget(input: TargetInput): Target {
  const { key, surfaceProvider, model, mode } = input;
  const fixed = (m: string | null): Target => ({ provider: surfaceProvider, model: m, loadBalanced: false, candidates: [], mayServe: [] });
  if (model === null) return fixed(null);
  if (mode !== 'gateway') return fixed(model);
  if (!FIRST_PARTY.has(surfaceProvider)) {
    return fixed(model.startsWith(`${surfaceProvider}/`) ? model.slice(surfaceProvider.length + 1) : model);
  }

  const parsed = parseModelString(model, knownProviderPrefixes(key.provider_configs.map((pc) => pc.provider)));
  if (parsed.provider !== undefined) return { provider: parsed.provider, model: parsed.model, loadBalanced: false, candidates: [], mayServe: [] };

  const bare = parsed.model;
  const blacklisting = new Set(key.provider_configs.filter((pc) => blockListBlocks(pc.blacklisted_models, pc.provider, bare, 'exact')).map((pc) => pc.provider));
  const admitting = key.provider_configs.filter((pc) => {
    if (blacklisting.has(pc.provider) || pc.weight === null || pc.weight === undefined) return false;
    const listedExplicitly = !pc.allowed_models.includes('*') && allowListAdmits(pc.allowed_models, pc.provider, bare, 'exact');
    const wildcardServes = pc.allowed_models.includes('*') && providerServesModel(pc.provider, bare, surfaceProvider);
    return listedExplicitly || wildcardServes;
  });
  if (admitting.length === 0) return fixed(bare);

  const mayServe = providersOf(admitting);
  const deniedAtOrigin = mayServe.find((candidate) => configsDenyAtOrigin(key, candidate, bare));
  // Spent-ness only shapes which provider the device expects; it never takes a config out of the refusals above.
  const eligible = admitting.filter((pc) => !input.isSpent(pc.provider));
  const candidates = providersOf(eligible);
  const expected = eligible.length === 0 ? surfaceProvider
    : candidates.includes(surfaceProvider) ? surfaceProvider
      : eligible.reduce((best, pc) => ((pc.weight ?? 0) > (best.weight ?? 0) ? pc : best)).provider;
  return { provider: deniedAtOrigin ?? expected, model: bare, loadBalanced: candidates.length > 1, candidates, mayServe };
}

function providersOf(configs: ReadonlyArray<{ provider: string }>): string[] {
  return [...new Set(configs.map((pc) => pc.provider))];
}

/** Whether one of `provider`'s configs denies `model` under the provider's own rule for names (model-access.ts). */
function configsDenyAtOrigin(key: VirtualKey, provider: string, model: string): boolean {
  return key.provider_configs.some((pc) => pc.provider === provider && blockListBlocks(pc.blacklisted_models, provider, model));
}
