import { BodyShapeError } from './body-shape.js';
import type { JsonPath } from './extraction.js';
import { isBlurredName } from './route-path.js';

/**
 * The model a Gemini Live or Lyria RealTime `setup` names (`models/gemini-…`, `models/lyria-realtime-exp`), without
 * Google's `models/` prefix, as the key's model rules judge it. A name a lenient server may read as another model is
 * refused (Gemini's HTTP path refuses the blurred ones too, gemini.ts; the setup, a field no SDK fills but with
 * Google's plain names, is held to those names only): a deny rule for `lyria-realtime-exp` must not let
 * `lyria-realtime-exp.`, `lyria-realtime-exp ` or `lyria-realtime-exp;x` through. So is a name that is none (empty,
 * `models/` alone) or a resource path (`models/models/x`, `tunedModels/x`: a `/` left once the prefix is gone), which
 * a server may resolve to some model Edge never judged. And so is one with upper-case letters: Google's model names
 * are lower case and its API's case handling is undocumented, so `LYRIA-REALTIME-EXP` may well be the model a deny
 * rule names while policy compares names exactly; no SDK sends such a name, so refusing it costs nothing.
 */
export function setupModel(named: string, path: JsonPath): string {
  const model = named.replace(/^models\//, '');
  const problem = setupModelProblem(model);
  if (problem !== undefined) throw new BodyShapeError(path, problem);
  return model;
}

/** Google's model names: lower-case letters and digits, with `.`, `-` or `_` inside (`gemini-2.0-flash-live-001`). */
const PLAIN_MODEL_NAME = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;

/** Why a setup's model (prefix stripped) is refused, short enough for a close frame; undefined when it is a plain name. */
function setupModelProblem(model: string): string | undefined {
  if (model === '') return 'names no model';
  if (model.includes('/')) return 'is a path, not one model name (models/<name>)';
  if (isBlurredName(model)) return 'has blanks, a trailing dot, ;, or bytes a server may drop';
  if (/[A-Z]/.test(model)) return 'has upper-case letters; Google\'s model names are lower case';
  // What Google's model names are made of; anything else (`..`, `?x`, `#x`, `:x`, `,x`, an escape) may be read by its
  // server as some other name than the one a deny rule was compared with.
  if (!PLAIN_MODEL_NAME.test(model)) return 'is not a plain model name (lower-case letters, digits, ., - and _)';
  return undefined;
}
