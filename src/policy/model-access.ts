import type { ProviderConfig, VirtualKey } from '../control/protocol/virtual-key.js';
import { isJudgeableModelName, listsNameDeployments, modelNameKey } from './model-name-key.js';

/**
 * A virtual key's provider and model lists, read with Bifrost's semantics (plugins/governance resolver):
 * - `allowed_models`: `["*"]` allows every model, `[]` allows none, otherwise exact names;
 * - `blacklisted_models`: `[]` blocks none, `["*"]` blocks all, and a blacklisting wins over any allowance,
 *   across every config of that provider;
 * - a key with no provider configs allows no provider at all (deny by default).
 * List entries may name the model bare (`gpt-4o`) or qualified (`openai/gpt-4o`); both match. Names are compared under
 * the provider's own rule for which spellings name one model (modelNameKey): exact, as Bifrost compares them, except
 * Azure's deployments, which Azure matches in any letter case (a deny rule for `gpt4o` also refuses `GPT4O`). A name that
 * cannot be folded safely (isJudgeableModelName: non-ASCII or control characters on Azure) is allowed by no list.
 */

const WILDCARD = '*';

/**
 * How a list entry is compared with a model name: `origin`, under the provider's own rule (modelNameKey), for what the
 * request reaches; `exact`, as Bifrost compares names, for predicting what the gateway does (model-target.ts).
 */
export type NameMatch = 'origin' | 'exact';

function listNames(list: readonly string[], provider: string, model: string, match: NameMatch): boolean {
  const keyOf = (name: string) => (match === 'exact' ? name : modelNameKey(provider, name));
  const wanted = [model, `${provider}/${model}`].map(keyOf);
  return list.some((entry) => wanted.includes(keyOf(entry)));
}

export function allowListAdmits(list: readonly string[], provider: string, model: string, match: NameMatch = 'origin'): boolean {
  if (list.includes(WILDCARD)) return true;
  return listNames(list, provider, model, match);
}

export function blockListBlocks(list: readonly string[], provider: string, model: string, match: NameMatch = 'origin'): boolean {
  if (list.includes(WILDCARD)) return true;
  return listNames(list, provider, model, match);
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
  if (!isJudgeableModelName(provider, model)) return 'not_allowed';
  const configs = configsFor(key, provider);
  if (configs.some((pc) => blockListBlocks(pc.blacklisted_models, provider, model))) return 'blacklisted';
  return configs.some((pc) => allowListAdmits(pc.allowed_models, provider, model)) ? 'allowed' : 'not_allowed';
}

/**
 * The operation of the request a live session's server-named model is decided on (websocket-inspection.ts): the model
 * a Realtime server says it runs (`session.created`, `session.updated`), held to servedModelVerdict. On Azure also the
 * model a client's session.update names, which is the model behind the deployment too (the SDK's Azure sample).
 */
export const SERVER_MODEL_OPERATION = 'session.created';

/**
 * The operation of the request a model a live session's client names is decided on (websocket-decision.ts accessOnly):
 * a Realtime session.update's model or transcription model. Like SERVER_MODEL_OPERATION it is no request of its own
 * (decide.ts checks it for access only), but the client chose the name, so it keeps Bifrost's exact names (modelVerdict):
 * a key listing `gpt-realtime` does not let a client name `gpt-realtime-2025-08-28`.
 */
export const SESSION_MODEL_OPERATION = 'session.model';

/**
 * SERVER_MODEL_OPERATION on a socket whose names are models though its provider's lists name deployments (Azure Voice
 * Live: `?model=gpt-4o`): the model its server says it runs is held to the key's lists as another provider's server's
 * is (servedModelVerdict: a release of a listed alias goes), not to the deny rules alone as the model behind a
 * deployment is.
 */
export const SERVED_MODEL_BY_NAME_OPERATION = 'session.created.by_name';

/** Whether `operation` marks the model a live session's server says it runs (either rule above). */
export function isServedModelOperation(operation: string): boolean {
  return operation === SERVER_MODEL_OPERATION || operation === SERVED_MODEL_BY_NAME_OPERATION;
}

/** The verdict on the model of a request decided under `operation`: a server's own model by its rule, any other by Bifrost's. */
export function modelVerdictFor(operation: string, key: VirtualKey, provider: string, model: string): ModelVerdict {
  if (operation === SERVER_MODEL_OPERATION) return servedModelVerdict(key, provider, model);
  if (operation === SERVED_MODEL_BY_NAME_OPERATION) return servedModelVerdict(key, provider, model, false);
  return modelVerdict(key, provider, model);
}

/**
 * The verdict on a model a live session's server says it runs, which may be a release (`gpt-4o-realtime-preview-2024-12-17`)
 * of the alias the key lists (`gpt-4o-realtime-preview`). Servers pick the release; keys name what the admin chose:
 * - blacklisted when any config's blacklist names the model itself, or an alias it is a release of (releaseAliases:
 *   its name with dated or numbered suffixes removed), or is `*`: blocking an alias blocks its releases, and a blocked release
 *   stays blocked whatever its alias is allowed;
 * - allowed when an allow list admits the model itself (by name or `*`);
 * - else allowed when an allow list names an alias it is a release of (the longest such) and names no other release of
 *   that alias: an alias-only list lets every release through, while a list naming releases of the alias chose
 *   those, so an unlisted release is not allowed.
 * Client-named models keep Bifrost's exact names (modelVerdict): the gateway holds HTTP requests to those, and a
 * client chooses what it names. Live sessions never reach the gateway, so this rule is Edge's alone.
 * Where lists name deployments (Azure: listsNameDeployments) the model is the one behind the session's deployment,
 * which the key's lists cannot name as allowed: the deployment decided at the opening governs the session, and only the deny rules above refuse it.
 */
export function servedModelVerdict(key: VirtualKey, provider: string, served: string, namesDeployments = listsNameDeployments(provider)): ModelVerdict {
  if (!isJudgeableModelName(provider, served)) return 'not_allowed';
  const configs = configsFor(key, provider);
  const aliases = releaseAliases(served);
  if (configs.some((pc) => [served, ...aliases].some((name) => blockListBlocks(pc.blacklisted_models, provider, name)))) return 'blacklisted';
  if (namesDeployments) return 'allowed';
  if (configs.some((pc) => allowListAdmits(pc.allowed_models, provider, served))) return 'allowed';
  const listed = unique(configs.flatMap((pc) => pc.allowed_models).map((m) => modelNameKey(provider, stripProvider(m, provider))));
  const alias = aliases.map((name) => modelNameKey(provider, name)).find((name) => listed.includes(name));
  if (alias === undefined) return 'not_allowed';
  const choosesReleases = listed.some((other) => other !== alias && releaseAliases(other).includes(alias));
  return choosesReleases ? 'not_allowed' : 'allowed';
}

/**
 * A release's own suffix: a date (`-2024-12-17`, `-20250929`) or a number (`-001`). Not `-preview`, `-latest` or
 * `-exp`, which pricing strips to find a price (candidateNames) but which name other models: a key listing
 * `gpt-4o-realtime` chose that model, not `gpt-4o-realtime-preview`.
 */
const RELEASE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/;

/** The aliases `model` is a release of, longest first: its name with dated or numbered suffixes removed one by one. */
export function releaseAliases(model: string): string[] {
  const aliases: string[] = [];
  let current = model;
  while (RELEASE_SUFFIX.test(current)) {
    current = current.replace(RELEASE_SUFFIX, '');
    if (current === '') break;
    aliases.push(current);
  }
  return aliases;
}

/**
 * What a key allows on a provider, for messages: every model, or the listed ones minus the blacklisted ones. Each model
 * is named once, in the first spelling a list gives it: on Azure `gpt4o` and `GPT4O` are one deployment.
 */
export function allowedModelsOn(key: VirtualKey, provider: string): { any: true; except: string[] } | { any: false; models: string[] } {
  const configs = configsFor(key, provider);
  const blacklisted = configs.flatMap((pc) => pc.blacklisted_models);
  if (blacklisted.includes(WILDCARD)) return { any: false, models: [] };
  const once = (names: string[]) => uniqueBy(names.map((m) => stripProvider(m, provider)), (m) => modelNameKey(provider, m));
  if (configs.some((pc) => pc.allowed_models.includes(WILDCARD))) return { any: true, except: once(blacklisted) };
  const listed = once(configs.flatMap((pc) => pc.allowed_models));
  return { any: false, models: listed.filter((m) => !blockListBlocks(blacklisted, provider, m)) };
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

/** `values` without those whose key an earlier one has, in order. */
function uniqueBy<T>(values: readonly T[], keyOf: (value: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = keyOf(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
