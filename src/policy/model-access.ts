import type { ProviderConfig, VirtualKey } from '../control/protocol/virtual-key.js';

/**
 * A virtual key's provider and model lists, read with Bifrost's semantics (plugins/governance resolver):
 * - `allowed_models`: `["*"]` allows every model, `[]` allows none, otherwise exact names;
 * - `blacklisted_models`: `[]` blocks none, `["*"]` blocks all, and a blacklisting wins over any allowance,
 *   across every config of that provider;
 * - a key with no provider configs allows no provider at all (deny by default).
 * List entries may name the model bare (`gpt-4o`) or qualified (`openai/gpt-4o`); both match.
 */

const WILDCARD = '*';

function listNames(list: readonly string[], provider: string, model: string): boolean {
  const qualified = `${provider}/${model}`;
  return list.some((entry) => entry === model || entry === qualified);
}

export function allowListAdmits(list: readonly string[], provider: string, model: string): boolean {
  if (list.includes(WILDCARD)) return true;
  return listNames(list, provider, model);
}

export function blockListBlocks(list: readonly string[], provider: string, model: string): boolean {
  if (list.includes(WILDCARD)) return true;
  return listNames(list, provider, model);
}

export function configsFor(key: VirtualKey, provider: string): ProviderConfig[] {
  return key.provider_configs.filter((pc) => pc.provider === provider);
}

export function isProviderAllowed(key: VirtualKey, provider: string): boolean {
  return configsFor(key, provider).length > 0;
}

export type ModelVerdict = 'allowed' | 'blacklisted' | 'not_allowed';

/** Bifrost's two passes: any matching config's blacklist blocks; then any matching config's allow list admits. */
export function modelVerdict(key: VirtualKey, provider: string, model: string): ModelVerdict {
  const configs = configsFor(key, provider);
  if (configs.some((pc) => blockListBlocks(pc.blacklisted_models, provider, model))) return 'blacklisted';
  return configs.some((pc) => allowListAdmits(pc.allowed_models, provider, model)) ? 'allowed' : 'not_allowed';
}

/** What a key allows on a provider, for messages: every model, or the listed ones minus the blacklisted ones. */
export function allowedModelsOn(key: VirtualKey, provider: string): { any: true; except: string[] } | { any: false; models: string[] } {
  const configs = configsFor(key, provider);
  const blacklisted = unique(configs.flatMap((pc) => pc.blacklisted_models));
  if (blacklisted.includes(WILDCARD)) return { any: false, models: [] };
  if (configs.some((pc) => pc.allowed_models.includes(WILDCARD))) return { any: true, except: blacklisted };
  const listed = unique(configs.flatMap((pc) => pc.allowed_models)).map((m) => stripProvider(m, provider));
  return { any: false, models: listed.filter((m) => !blacklisted.includes(m) && !blacklisted.includes(`${provider}/${m}`)) };
}

export function allowedProviders(key: VirtualKey): string[] {
  return unique(key.provider_configs.map((pc) => pc.provider));
}

function stripProvider(model: string, provider: string): string {
  return model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
