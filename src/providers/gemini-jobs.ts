import { expectObject, expectString, optionalField, requiredArray, type JsonObject } from './body-shape.js';
import { addText, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { fields, readContent, readGenerateRequest } from './gemini-content.js';

/**
 * Gemini calls that start a job from prompts in their body: batches (`:batchGenerateContent`,
 * `:asyncBatchEmbedContent`) and predictions (Imagen `:predict`, Veo `:predictLongRunning`).
 */

/**
 * Calls `read` for each inline request of a batch, `{batch: {inputConfig: {requests: {requests: [{request}]}}}}`.
 * A batch whose input is an uploaded file (`inputConfig.fileName`) only names it: the file's content went up
 * through the Files API, which Edge does not read.
 */
function forEachInlineRequest(body: JsonObject, read: (request: JsonObject, path: JsonPath) => void): void {
  const batch = expectObject(body['batch'], ['batch'], 'a batch object ({"inputConfig": ...})');
  for (const input of fields(batch, 'inputConfig', 'input_config')) {
    const inputPath = ['batch', input.key];
    optionalField(expectObject(input.value, inputPath, 'an input config object'), 'requests', inputPath, (inlined, p) => {
      requiredArray(expectObject(inlined, p, 'an object holding "requests"'), 'requests', p, 'an array of inline requests').forEach((item, i) => {
        const itemPath = [...p, 'requests', i];
        const requestPath = [...itemPath, 'request'];
        read(expectObject(expectObject(item, itemPath, 'an inline request object')['request'], requestPath, 'a request object'), requestPath);
      });
    });
  }
}

/** `models/{model}:batchGenerateContent`: each inline request is a generateContent body. */
export function readBatchGenerateContent(body: JsonObject): BodyReading {
  const x = newExtraction();
  forEachInlineRequest(body, (request, path) => readGenerateRequest(x, request, path, true));
  return { model: null, stream: false, extraction: x };
}

/** `models/{model}:asyncBatchEmbedContent`: each inline request is an embedContent body. */
export function readAsyncBatchEmbedContent(body: JsonObject): BodyReading {
  const x = newExtraction();
  forEachInlineRequest(body, (request, path) => readContent(x, request['content'], [...path, 'content'], 'input'));
  return { model: null, stream: false, extraction: x };
}

/**
 * Imagen's `:predict` and Veo's `:predictLongRunning`: `{instances: [{prompt, image?}], parameters}`. Instances and
 * parameters are free-form JSON structs, so their keys arrive exactly as written (no snake_case variants).
 */
export function readPrediction(body: JsonObject): BodyReading {
  const x = newExtraction();
  requiredArray(body, 'instances', [], 'an array of instances').forEach((value, i) => {
    const path = ['instances', i];
    readPromptField(x, expectObject(value, path, 'an instance object'), 'prompt', path);
  });
  optionalField(body, 'parameters', [], (parameters, p) => readPromptField(x, expectObject(parameters, p, 'a parameters object'), 'negativePrompt', p));
  return { model: null, stream: false, extraction: x };
}

function readPromptField(x: Extraction, obj: JsonObject, key: string, path: JsonPath): void {
  optionalField(obj, key, path, (text, p) => addText(x, p, expectString(text, p), 'user'));
}
