import { BodyShapeError, expectString, optionalField, optionalModel, readStreamFlag, requireModel, requiredString, wrongType, type JsonObject } from './body-shape.js';
import { addText, newExtraction, type BodyReading, type Extraction } from './extraction.js';

/**
 * The OpenAI media routes and the text they carry for the model: image generation and text to speech as
 * JSON; image edits and variations, transcriptions, translations and videos as multipart/form-data uploads
 * of the media (form-request-body.ts), whose text fields are read here by name as a JSON body's would be.
 */

/** `POST /images/generations`: the `prompt`; the model may be left to the API's default. */
export function readImageGeneration(body: JsonObject): BodyReading {
  const x = newExtraction();
  addText(x, ['prompt'], requiredString(body, 'prompt', []), 'user');
  return { model: optionalModel(body), stream: readStreamFlag(body), extraction: x };
}

/** `POST /audio/speech`: the `input` to speak and the voice `instructions`; `stream_format: "sse"` streams events. */
export function readSpeech(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = requireModel(body);
  addText(x, ['input'], requiredString(body, 'input', []), 'input');
  optionalField(body, 'instructions', [], (text, p) => addText(x, p, expectString(text, p), 'system'));
  return { model, stream: body['stream_format'] === 'sse', extraction: x };
}

/** Upload form fields Edge reads as text: a provider must not get them as a file Edge did not read. */
export const UPLOAD_TEXT_FIELDS: ReadonlySet<string> = new Set(['prompt', 'model']);

/**
 * Upload form fields that are settings, not text for the model. Any other text field is read as text too
 * (kind `other`): a field Edge does not know may still carry what the user typed (`known_speaker_names[]`).
 */
const UPLOAD_SETTINGS: ReadonlySet<string> = new Set([
  'model', 'prompt', 'n', 'size', 'quality', 'response_format', 'stream', 'user', 'background', 'moderation', 'output_format',
  'output_compression', 'input_fidelity', 'partial_images', 'language', 'temperature', 'timestamp_granularities[]', 'include[]',
  'chunking_strategy', 'seconds', 'known_speaker_references[]',
]);

/** `POST /images/edits` upload: the `prompt` (required), the `model` if named. */
export function readImageEditUpload(form: JsonObject): BodyReading {
  return readUpload(form, { prompt: 'required', model: 'optional' });
}

/** `POST /images/variations` upload: no prompt, only the `model` (for model rules) and any unknown text field. */
export function readImageVariationUpload(form: JsonObject): BodyReading {
  return readUpload(form, { prompt: 'none', model: 'optional' });
}

/** `POST /audio/transcriptions` and `/audio/translations` uploads: the `model` (required) and the `prompt` hint. */
export function readAudioUpload(form: JsonObject): BodyReading {
  return readUpload(form, { prompt: 'optional', model: 'required' });
}

/** `POST /videos`, `/videos/edits`, `/videos/extensions`, `/videos/{id}/remix` uploads: the `prompt`, the `model` if named. */
export function readVideoUpload(form: JsonObject): BodyReading {
  return readUpload(form, { prompt: 'required', model: 'optional' });
}

function readUpload(form: JsonObject, expects: { prompt: 'required' | 'optional' | 'none'; model: 'required' | 'optional' }): BodyReading {
  const x = newExtraction();
  const model = singleText(form, 'model');
  if (expects.model === 'required' && (model === undefined || model.trim() === '')) throw new BodyShapeError(['model'], 'is required: name the model to use');
  if (expects.prompt !== 'none') {
    if (expects.prompt === 'required' && form['prompt'] === undefined) throw new BodyShapeError(['prompt'], 'is required');
    addTexts(x, form, 'prompt', 'user');
  }
  for (const name of Object.keys(form)) {
    if (!UPLOAD_SETTINGS.has(name) || (name === 'prompt' && expects.prompt === 'none')) addTexts(x, form, name, 'other');
  }
  return { model: model ?? null, stream: singleText(form, 'stream') === 'true', extraction: x };
}

/** A field a provider reads once: sent twice, Edge and the provider could each take another copy. */
function singleText(form: JsonObject, name: string): string | undefined {
  const value = form[name];
  if (Array.isArray(value)) throw new BodyShapeError([name], 'is sent more than once; send it once');
  return value === undefined ? undefined : expectString(value, [name]);
}

/** Every value of a text field, each where a redaction puts it back (`prompt`, or `prompt[1]` for a repeated one). */
function addTexts(x: Extraction, form: JsonObject, name: string, kind: 'user' | 'other'): void {
  const value = form[name];
  if (typeof value === 'string') addText(x, [name], value, kind);
  else if (Array.isArray(value)) value.forEach((text, i) => addText(x, [name, i], expectString(text, [name, i]), kind));
  else if (value !== undefined) throw wrongType([name], 'text', value);
}
