import { BIFROST_MODEL_PROVIDERS } from '../providers/bifrost-providers.js';
import type { ProviderName } from '../providers/types.js';

/**
 * How Edge's provider names (src/providers/types.ts) relate to the provider names in a virtual key's
 * provider_configs, and which surfaces virtual keys govern at all.
 *
 * Choice: the web apps (chatgpt-web, claude-web), GitHub Copilot, Cursor and hosts added without an API
 * shape (`custom`) are governed by the app catalog only. Their traffic never reaches Bifrost (the route
 * table sends it to the origin, with the vendor's own sign-in), so a virtual key's provider configs,
 * model lists, rate limits and budgets have nothing to bind to: checking `openai` configs against a
 * ChatGPT web conversation would block or allow it for the wrong reason. Admins allow or deny those
 * surfaces with catalog entries (by host or User-Agent).
 */

/** Edge surfaces that map onto a Bifrost provider, and the name Bifrost uses for it. */
const EDGE_TO_BIFROST: Partial<Record<ProviderName, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  // Bifrost's genai integration answers the Gemini API under provider `gemini` (Vertex is a separate provider).
  gemini: 'gemini',
  groq: 'groq',
  mistral: 'mistral',
  xai: 'xai',
  deepseek: 'deepseek',
  openrouter: 'openrouter',
  perplexity: 'perplexity',
  azure: 'azure',
};

/** The Bifrost provider a surface's requests are governed as, or undefined for app-governed surfaces. */
export function bifrostProviderFor(provider: ProviderName | string): string | undefined {
  return EDGE_TO_BIFROST[provider as ProviderName];
}

export function isAppGovernedSurface(provider: ProviderName | string): boolean {
  return bifrostProviderFor(provider) === undefined;
}

/**
 * Provider prefixes that make `prefix/model` a provider-qualified model string. Bifrost checks the prefix
 * against the providers configured on the gateway; the device approximates that with Bifrost's built-in
 * providers, the ones Edge routes to, and every provider named in the user's keys (custom providers).
 */
const BUILT_IN_PREFIXES: readonly string[] = [...new Set([...BIFROST_MODEL_PROVIDERS, ...Object.values(EDGE_TO_BIFROST)])];

export function knownProviderPrefixes(extra: Iterable<string> = []): ReadonlySet<string> {
  return new Set([...BUILT_IN_PREFIXES, ...extra]);
}

/** A model string split the way Bifrost splits it: on the first `/`, only when the prefix is a known provider. */
export interface ParsedModelString {
  /** The provider named by the prefix, or undefined for a bare model (load-balanced by the gateway). */
  provider: string | undefined;
  model: string;
}

export function parseModelString(value: string, knownProviders: ReadonlySet<string>): ParsedModelString {
  const slash = value.indexOf('/');
  if (slash > 0) {
    const prefix = value.slice(0, slash);
    // `meta-llama/Llama-3.3-70B` has an unknown prefix: the whole string is the model's name.
    if (knownProviders.has(prefix)) return { provider: prefix, model: value.slice(slash + 1) };
  }
  return { provider: undefined, model: value };
}
