import { expectObject, expectString, optionalField, requireModel, requiredArray, type JsonObject } from './body-shape.js';
import { addText, newExtraction, type BodyReading } from './extraction.js';

/**
 * `POST /models/images/embeddings`, Azure AI Foundry's image embeddings: `input` is a list of images, each of which
 * may carry a `text` that is embedded with it. The texts go to the embedding model like any embedding's input; the
 * images (base64 data URLs) are not text.
 */
export function readImageEmbeddings(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = requireModel(body);
  requiredArray(body, 'input', []).forEach((item, i) => {
    const image = expectObject(item, ['input', i], 'an object with an `image` and an optional `text`');
    optionalField(image, 'text', ['input', i], (text, path) => addText(x, path, expectString(text, path), 'input'));
  });
  return { model, stream: false, extraction: x };
}
