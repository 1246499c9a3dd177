/**
 * Which spellings of a model name name one model, per provider: what policy compares (allow and deny lists here, and
 * price tables may follow it), never what is forwarded, recorded or shown, which keep the app's spelling.
 */

/**
 * Providers whose model names are resource names their origin matches without regard to letter case: on Azure the
 * model is a deployment (an ARM child resource, Microsoft.CognitiveServices/accounts/deployments), and Azure routes
 * `GPT4O` to deployment `gpt4o`, in the path, in the v1 API's `model` and in Realtime's `?deployment=` alike.
 */
const CASE_INSENSITIVE_MODEL_NAMES: ReadonlySet<string> = new Set(['azure']);

/**
 * What tells one of `provider`'s models from another: two names with the same key reach the same model at its origin.
 * Exact names (Bifrost's rule), except where the origin ignores case (CASE_INSENSITIVE_MODEL_NAMES): there a deny rule
 * for `gpt4o` must refuse `GPT4O` too. Folding more than Azure does (a non-ASCII letter that lowercases to an ASCII
 * one, as the Kelvin sign does; no valid deployment name has one) can only merge names Azure keeps apart: a deny rule
 * then refuses more, and an allow list admits a name no deployment has.
 */
export function modelNameKey(provider: string, model: string): string {
  return CASE_INSENSITIVE_MODEL_NAMES.has(provider) ? model.toLowerCase() : model;
}
