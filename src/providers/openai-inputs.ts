import {
  expectObject, expectString, optionalField, optionalModel, readStreamFlag, requireModel, requiredString, wrongType, type JsonObject,
} from './body-shape.js';
import { addText, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { isTokenIdArray, textOfTokenIds } from './token-ids.js';
import type { TextSpan } from './types.js';

/**
 * The OpenAI routes whose text is a plain `prompt`, `input` or `query`: legacy completions, embeddings,
 * moderations, Mistral's fill-in-the-middle, video generation and vector store search. Token-id prompts are
 * read as the text they stand for (token-ids.ts); that text cannot be redacted in place, so a finding the
 * policy would redact there blocks the request instead.
 */

/** `POST /completions`: `prompt` (string, strings, or token ids) and optional `suffix`. */
export function readCompletion(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = requireModel(body);
  optionalField(body, 'prompt', [], (prompt, p) => readStringOrStrings(x, prompt, p, 'user'));
  optionalField(body, 'suffix', [], (suffix, p) => addText(x, p, expectString(suffix, p), 'user'));
  return { model, stream: readStreamFlag(body), extraction: x };
}

/** Mistral `POST /fim/completions`: code before (`prompt`) and after (`suffix`) the cursor. */
export function readFimCompletion(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = requireModel(body);
  for (const key of ['prompt', 'suffix']) optionalField(body, key, [], (text, p) => addText(x, p, expectString(text, p), 'user'));
  return { model, stream: readStreamFlag(body), extraction: x };
}

/** `POST /embeddings`: `input` as a string, strings, or token ids. */
export function readEmbedding(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = requireModel(body);
  readStringOrStrings(x, body['input'], ['input'], 'input');
  return { model, stream: false, extraction: x };
}

/** `POST /moderations`: `input` as a string, strings, or multimodal parts; the model may be left to the default. */
export function readModeration(body: JsonObject): BodyReading {
  const x = newExtraction();
  const input = body['input'];
  if (Array.isArray(input)) {
    input.forEach((item, i) => {
      if (typeof item === 'string') {
        addText(x, ['input', i], item, 'input');
        return;
      }
      const part = expectObject(item, ['input', i], 'a string or an input object');
      if (part['type'] === 'text') addText(x, ['input', i, 'text'], expectString(part['text'], ['input', i, 'text']), 'input');
    });
  } else {
    addText(x, ['input'], expectString(input, ['input'], 'a string or an array'), 'input');
  }
  return { model: optionalModel(body), stream: false, extraction: x };
}

/**
 * `POST /videos` and the routes that derive a video from another (`/videos/edits`, `/videos/extensions`,
 * `/videos/{id}/remix`), when sent as JSON: the `prompt`; the model may be left to the default.
 */
export function readVideoPrompt(body: JsonObject): BodyReading {
  const x = newExtraction();
  addText(x, ['prompt'], requiredString(body, 'prompt', []), 'user');
  return { model: optionalModel(body), stream: false, extraction: x };
}

/** `POST /vector_stores/{id}/search`: the `query`, a string or strings, goes to the embedding model. */
export function readVectorStoreSearch(body: JsonObject): BodyReading {
  const x = newExtraction();
  readStringOrStrings(x, body['query'], ['query'], 'input');
  return { model: null, stream: false, extraction: x };
}

function readStringOrStrings(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof value === 'string') {
    addText(x, path, value, kind);
  } else if (isTokenIdArray(value)) {
    addText(x, path, textOfTokenIds(value), kind);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item === 'string') addText(x, [...path, i], item, kind);
      else if (isTokenIdArray(item)) addText(x, [...path, i], textOfTokenIds(item), kind);
      // A lone number among strings is no prompt any API takes: refused rather than read as nothing.
      else if (!(Array.isArray(item) && item.length === 0)) throw wrongType([...path, i], 'a string or token ids', item);
    });
  } else {
    throw wrongType(path, 'a string or an array of strings', value);
  }
}
