import { expectString, optionalField, optionalModel, readStreamFlag, requireModel, requiredString, type JsonObject } from './body-shape.js';
import { addText, newExtraction, type BodyReading } from './extraction.js';

/**
 * The OpenAI media routes whose JSON body carries text for the model: image generation and text to
 * speech. Image edits and variations, transcriptions and translations are multipart uploads of the
 * image or audio itself, which Edge forwards unread.
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
