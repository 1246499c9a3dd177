import type { RouteMatch } from '../providers/adapter.js';
import type { ProviderName } from '../providers/types.js';

/**
 * Where a recognised AI request goes on the Bifrost gateway. Pure mapping, no I/O.
 * - gateway: Bifrost's provider integrations (`/openai`, `/anthropic`, `/genai`) that govern with the
 *   employee's virtual key; OpenAI-compatible third parties go through `/openai/v1` with a `provider/model`.
 * - passthrough: Bifrost's raw pass-through prefixes, which forward the original path to the provider.
 * `null`: Bifrost has no route for it (web apps, Copilot, Cursor, third-party routes without a model);
 * the proxy forwards it to the origin.
 */

export type ForwardMode = 'gateway' | 'passthrough';

export interface BifrostRouteInput {
  provider: ProviderName;
  route: RouteMatch;
  /** Model as the client asked for it (NormalizedRequest.model); null when unknown or uninspected. */
  model: string | null;
}

export interface BifrostRoute {
  /** Path and query on the gateway. */
  path: string;
  /** Model to write into the JSON body, when Bifrost needs a different one than the client sent. */
  model?: string;
  /**
   * Pass-through mode: the app's provider credentials are for another endpoint than the one Bifrost forwards to,
   * so they are not sent at all (planUpstream); gateway mode drops them always.
   */
  dropAppCredentials?: true;
}

/**
 * First-party APIs in gateway mode: Bifrost's integration for the provider, same path below it. Bifrost's GenAI
 * integration serves only v1beta and re-issues the call to Gemini itself, so v1 and v1alpha map there too.
 */
const GATEWAY_PATHS: Partial<Record<ProviderName, (route: RouteMatch) => string>> = {
  openai: (route) => `/openai${route.pathname}`,
  anthropic: (route) => `/anthropic${route.pathname}`,
  gemini: (route) => `${route.prefix.startsWith('/upload/') ? '/genai/upload/v1beta' : '/genai/v1beta'}${route.operationPath}`,
};

/**
 * Pass-through prefixes: Bifrost forwards the original path to the provider unchanged (`/azure_passthrough` to the
 * endpoint of the gateway's Azure key, not the resource the app named: see PASSTHROUGH_TO_ANOTHER_ENDPOINT).
 */
const PASSTHROUGH_PREFIXES: Partial<Record<ProviderName, string>> = {
  openai: '/openai_passthrough',
  anthropic: '/anthropic_passthrough',
  gemini: '/genai_passthrough',
  azure: '/azure_passthrough',
};

/**
 * Providers whose pass-through goes to the gateway's own endpoint and key rather than to the one the app called:
 * the app's api-key or Entra token is for its resource, and would only be handed to Bifrost and another resource.
 */
const PASSTHROUGH_TO_ANOTHER_ENDPOINT: ReadonlySet<ProviderName> = new Set(['azure']);

/**
 * Query parameters where an app puts its Azure key (API Management in front of Azure reads `subscription-key`, some
 * clients send `api-key`): dropped with the headers when the pass-through goes to another endpoint.
 */
const CREDENTIAL_QUERY_PARAMS: readonly string[] = ['subscription-key', 'api-key'];

/**
 * Providers whose stored objects (`GET /responses/{id}`, its cancel, a stored chat completion) Bifrost cannot find:
 * its OpenAI integration picks the provider by the body's model, and these requests have none, so they would go to
 * OpenAI. They go to the origin, which keeps them.
 */
const STORED_OBJECTS_AT_ORIGIN: ReadonlySet<ProviderName> = new Set(['azure']);

/**
 * OpenAI-compatible providers Bifrost reaches through its OpenAI integration by a `provider/model` string. For
 * Azure the model is the deployment (`azure/{deployment}`), which Bifrost looks up in its Azure key's
 * `deployments` map: the gateway must list each deployment name apps use there.
 */
const OPENAI_COMPATIBLE_THIRD_PARTIES: ReadonlySet<ProviderName> = new Set(['groq', 'mistral', 'xai', 'deepseek', 'openrouter', 'perplexity', 'azure']);

/**
 * Providers whose query string is for the provider alone and stays on the laptop in gateway mode: Azure's
 * `api-version` is the resource's (the gateway's Azure key sets its own), and API gateways in front of Azure take
 * keys in the query (`subscription-key`).
 */
const QUERY_NOT_FORWARDED: ReadonlySet<ProviderName> = new Set(['azure']);

/**
 * Operations that Bifrost's OpenAI integration routes by the body's model. Anything else on a third-party host
 * (its files, its model list, Mistral's FIM) has no Bifrost equivalent that would reach that provider.
 */
const MODEL_ROUTED_OPERATIONS: ReadonlySet<string> = new Set(['chat.completions', 'completions', 'responses', 'embeddings']);

export function bifrostRoute(input: BifrostRouteInput, mode: ForwardMode): BifrostRoute | null {
  const { provider, route } = input;
  if (mode === 'passthrough') {
    const prefix = PASSTHROUGH_PREFIXES[provider];
    if (prefix === undefined) return null;
    if (!PASSTHROUGH_TO_ANOTHER_ENDPOINT.has(provider)) return { path: `${prefix}${route.pathname}${route.query}` };
    // A Foundry project's routes too (its Agent Service, `/api/projects/{project}/threads/...`, and its OpenAI API):
    // `/azure_passthrough/api/projects/...` reaches a project of that name on the gateway's own Azure endpoint, if it
    // has one, not the app's resource and project. Left so knowingly: Bifrost has no route that names the app's resource.
    return { path: `${prefix}${route.pathname}${withoutQueryParams(route.query, CREDENTIAL_QUERY_PARAMS)}`, dropAppCredentials: true };
  }
  const gatewayPath = GATEWAY_PATHS[provider];
  if (gatewayPath !== undefined) {
    // Gemini clients may put their API key in `?key=`; in gateway mode it stays on the laptop like the headers.
    const query = provider === 'gemini' ? withoutQueryParams(route.query, ['key']) : route.query;
    return { path: `${gatewayPath(route)}${query}` };
  }
  if (!OPENAI_COMPATIBLE_THIRD_PARTIES.has(provider) || !MODEL_ROUTED_OPERATIONS.has(route.operation)) return null;
  if (!route.inspected && STORED_OBJECTS_AT_ORIGIN.has(provider)) return null;
  const path = `/openai/v1${route.operationPath}${QUERY_NOT_FORWARDED.has(provider) ? '' : route.query}`;
  return input.model === null ? { path } : { path, model: qualifiedModel(provider, input.model) };
}

/**
 * `provider/model`, so Bifrost sends the request to the provider the app called instead of load-balancing.
 * Only the provider's own prefix counts as already qualified: Groq's `openai/gpt-oss-120b` and OpenRouter's
 * `anthropic/claude-sonnet-4` are model ids of that provider, and treating their first segment as the Bifrost
 * provider would send them to OpenAI or Anthropic instead.
 */
export function qualifiedModel(provider: ProviderName, model: string): string {
  return model.startsWith(`${provider}/`) ? model : `${provider}/${model}`;
}

/** The query string without every `name=...` pair of the given names (compared after URL-decoding, in any letter case). */
function withoutQueryParams(query: string, names: readonly string[]): string {
  if (query === '') return '';
  const dropped: ReadonlySet<string> = new Set(names.map((name) => name.toLowerCase()));
  const kept = query.slice(1).split('&').filter((pair) => pair !== '' && !dropped.has(decodeURIComponentSafe(pair.split('=')[0]!).toLowerCase()));
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/**
 * Headers where an app puts its own provider credential; `ocp-apim-subscription-key` is Azure AI Services' (Cognitive
 * Services) resource key, which its SDKs send instead of `api-key`.
 */
export const PROVIDER_CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'ocp-apim-subscription-key'] as const;

/** A copy of the headers without the app's provider credentials (any header-name case). */
export function stripProviderCredentials<V>(headers: Readonly<Record<string, V>>): Record<string, V> {
  const credentialNames: ReadonlySet<string> = new Set(PROVIDER_CREDENTIAL_HEADERS);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !credentialNames.has(name.toLowerCase())));
}

/** True for a Bifrost virtual key (`sk-bf-...`), bare or as an `Authorization: Bearer` value (any of a repeated header). */
export function isBifrostVirtualKey(value: string | readonly string[] | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'string') return value.some((v) => isBifrostVirtualKey(v));
  return value.trim().replace(/^bearer\s+/i, '').startsWith('sk-bf-');
}
