import { hasControlOrNonAsciiChar } from '../providers/route-path.js';

/**
 * Which spellings of a model name name one model, per provider: what policy compares (allow and deny lists here, and
 * price tables may follow it), never what is forwarded, recorded or shown, which keep the app's spelling.
 */

/**
 * Providers whose "model" is a deployment: a resource the customer names (on Azure an ARM child resource,
 * Microsoft.CognitiveServices/accounts/deployments) standing for a model the customer chose. Two rules follow from it:
 * the origin matches the names without regard to letter case (Azure routes `GPT4O` to deployment `gpt4o`, in the path,
 * in the v1 API's `model` and in Realtime's `?deployment=` alike: foldsModelNames), and a key's model lists name
 * deployments, never the models behind them (listsNameDeployments).
 */
const DEPLOYMENT_PROVIDERS: ReadonlySet<string> = new Set(['azure']);

/** Whether `provider`'s origin matches model names in any letter case (its models are deployments: DEPLOYMENT_PROVIDERS). */
export function foldsModelNames(provider: string): boolean {
  return DEPLOYMENT_PROVIDERS.has(provider);
}

/**
 * Whether a key's model lists for `provider` name deployments (DEPLOYMENT_PROVIDERS): a model a live session names
 * behind its deployment is then one no list can name as allowed, only one its deny rules may refuse.
 */
export function listsNameDeployments(provider: string): boolean {
  return DEPLOYMENT_PROVIDERS.has(provider);
}

/**
 * What tells one of `provider`'s models from another: two names with the same key reach the same model at its origin.
 * Exact names (Bifrost's rule), except where the origin ignores case (foldsModelNames): there a deny rule
 * for `gpt4o` must refuse `GPT4O` too. Only ASCII letters fold: Azure's deployment names are ASCII (letters, digits,
 * `-`, `_`, `.`), and folding beyond ASCII is where readers part (JavaScript's toLowerCase maps the Kelvin sign to `k`,
 * which .NET's OrdinalIgnoreCase does not, so a list folded that way would admit more than it names). A name with any character outside
 * ASCII, or a control character, is refused before a list is read (isJudgeableModelName).
 */
export function modelNameKey(provider: string, model: string): string {
  return foldsModelNames(provider) ? model.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : model;
}

/**
 * Whether policy can tell which of `provider`'s models `model` names: always where names are exact, and where they fold
 * only for names in printable ASCII. This is a hedge, not the answer to a known bypass: ASCII-only folding keeps
 * `gpt-mını` apart from `gpt-mini`, as .NET does, but Edge does not know exactly how Azure folds (or whether it reads
 * such a name as a deployment at all), so no list is trusted to hold for a name whose folding it would have to guess.
 */
export function isJudgeableModelName(provider: string, model: string): boolean {
  return !foldsModelNames(provider) || !hasControlOrNonAsciiChar(model);
}
