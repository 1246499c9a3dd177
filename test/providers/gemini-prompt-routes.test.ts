import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geminiEntry, geminiHost, parseGemini } from './gemini-support.js';
import { geminiAdapter as adapter } from '../../src/providers/gemini.js';
import { BLOCKED_SECRET, startEdgeBeforeOrigin, type EdgeBeforeOrigin } from './edge-before-origin.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf } from './support.js';

/**
 * Gemini routes whose bodies carry prompts besides generateContent: inline batch jobs, Imagen and Veo
 * predictions, and tuned models (generateContent on `tunedModels/{model}`).
 */

const host = geminiHost;
const entry = geminiEntry;
const parse = parseGemini;

describe('route recognition', () => {
  it.each([
    ['POST', '/v1beta/models/gemini-2.5-flash:batchGenerateContent', 'batchGenerateContent', true, 'gemini-2.5-flash', false],
    ['POST', '/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent', 'asyncBatchEmbedContent', true, 'gemini-embedding-001', false],
    ['POST', '/v1beta/models/imagen-4.0-generate-001:predict', 'predict', true, 'imagen-4.0-generate-001', false],
    ['POST', '/v1beta/models/veo-3.0-generate-001:predictLongRunning', 'predictLongRunning', true, 'veo-3.0-generate-001', false],
    ['POST', '/v1beta/tunedModels/my-tuned:generateContent', 'generateContent', true, 'tunedModels/my-tuned', false],
    ['POST', '/v1beta/tunedModels/my-tuned:streamGenerateContent?alt=sse', 'streamGenerateContent', true, 'tunedModels/my-tuned', true],
    ['POST', '/v1beta/tunedModels/my-tuned:countTokens', 'countTokens', true, 'tunedModels/my-tuned', false],
    ['POST', '/v1beta/tunedModels/my-tuned:batchGenerateContent', 'batchGenerateContent', true, 'tunedModels/my-tuned', false],
    // Managing tuned models carries no prompt.
    ['POST', '/v1beta/tunedModels/my-tuned:transferOwnership', 'tunedModels', false, undefined, undefined],
    ['GET', '/v1beta/tunedModels/my-tuned', 'tunedModels', false, undefined, undefined],
    ['GET', '/v1beta/tunedModels', 'tunedModels', false, undefined, undefined],
    ['GET', '/v1beta/tunedModels/my-tuned/permissions', 'tunedModels', false, undefined, undefined],
  ])('%s %s → %s (inspected: %s, model %s, stream %s)', (method, path, operation, inspected, pathModel, stream) => {
    const route = adapter.recognize(req(method, host, path), entry);
    expect(route).toMatchObject({ operation, inspected });
    expect(route?.pathModel).toBe(pathModel);
    expect(route?.stream).toBe(stream);
  });

  it.each([
    ['POST', '/v1beta/tunedModels/:generateContent'],
    ['POST', '/v1beta/tunedModels/my-tuned:generateText'],
    ['POST', '/v1beta/tunedModels/my-tuned:generateContent/extra'],
    ['GET', '/v1beta/tunedModels/my-tuned:generateContent'],
  ])('%s %s is not recognised', (method, path) => {
    expect(adapter.recognize(req(method, host, path), entry)).toBeUndefined();
  });
});

describe('batchGenerateContent', () => {
  it('reads each inline request like a generateContent body, in either spelling', () => {
    const body = {
      batch: {
        display_name: 'nightly',
        input_config: {
          requests: {
            requests: [
              { request: { contents: [{ parts: [{ text: 'Summarise ticket 1.' }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] } }, metadata: { key: 'r1' } },
              { request: { contents: [{ role: 'model', parts: [{ text: 'Earlier answer.' }] }] } },
            ],
          },
        },
      },
    };
    const request = expectParsed(parse('/v1beta/models/gemini-2.5-flash:batchGenerateContent', body));
    expect(request.model).toBe('gemini-2.5-flash');
    expect(textsOf(request)).toEqual([['system', 'Be brief.'], ['user', 'Summarise ticket 1.'], ['assistant', 'Earlier answer.']]);
    expectPathsPointAtStrings(body, request);

    const camel = { batch: { inputConfig: { requests: { requests: [{ request: { contents: [{ parts: [{ text: 'camel' }] }] } }] } } } };
    expect(textsOf(expectParsed(parse('/v1beta/models/gemini-2.5-flash:batchGenerateContent', camel)))).toEqual([['user', 'camel']]);
  });

  it('a batch whose input is an uploaded file has no text in the request (the file itself is not read)', () => {
    const request = expectParsed(parse('/v1beta/models/gemini-2.5-flash:batchGenerateContent', { batch: { input_config: { file_name: 'files/abc' } } }));
    expect(request.inspected).toBe(true);
    expect(request.texts).toEqual([]);
  });

  it('asyncBatchEmbedContent reads each inline embed request', () => {
    const body = { batch: { inputConfig: { requests: { requests: [{ request: { content: { parts: [{ text: 'embed me' }] } } }] } } } };
    const request = expectParsed(parse('/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent', body));
    expect(textsOf(request)).toEqual([['input', 'embed me']]);
    expectPathsPointAtStrings(body, request);
  });

  it.each([
    [{}, 'batch'],
    [{ batch: { input_config: { requests: { requests: 'x' } } } }, 'batch.input_config.requests.requests'],
    [{ batch: { input_config: { requests: { requests: [{ request: { contents: 'x' } }] } } } }, 'batch.input_config.requests.requests[0].request.contents'],
  ])('refuses a malformed batch %j (names %s)', (body, where) => {
    const error = expectFailed(parse('/v1beta/models/gemini-2.5-flash:batchGenerateContent', body));
    expect(error.status).toBe(400);
    expect(error.message).toContain(where);
  });
});

describe('predict and predictLongRunning', () => {
  it('reads every instance prompt and the negative prompt', () => {
    const body = { instances: [{ prompt: 'A lighthouse at dusk' }, { prompt: 'A harbour', image: { bytesBase64Encoded: 'AAAA', mimeType: 'image/png' } }], parameters: { sampleCount: 1, negativePrompt: 'people' } };
    const request = expectParsed(parse('/v1beta/models/imagen-4.0-generate-001:predict', body));
    expect(textsOf(request)).toEqual([['user', 'A lighthouse at dusk'], ['user', 'A harbour'], ['user', 'people']]);
    expectPathsPointAtStrings(body, request);
    const video = expectParsed(parse('/v1beta/models/veo-3.0-generate-001:predictLongRunning', { instances: [{ prompt: 'A cat surfing' }] }));
    expect(textsOf(video)).toEqual([['user', 'A cat surfing']]);
  });

  it('refuses a body without instances', () => {
    expect(expectFailed(parse('/v1beta/models/imagen-4.0-generate-001:predict', { parameters: {} })).status).toBe(400);
  });
});

describe('through Edge: a secret in these routes is refused before it reaches Gemini', () => {
  let edge: EdgeBeforeOrigin;
  beforeAll(async () => { edge = await startEdgeBeforeOrigin([host]); }, 30_000);
  afterAll(async () => { await edge?.close(); });

  const prompt = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });
  it.each([
    ['tunedModels/{model}:generateContent', '/v1beta/tunedModels/my-tuned:generateContent', prompt(`key ${BLOCKED_SECRET}`)],
    ['batchGenerateContent with inline requests', '/v1beta/models/gemini-2.5-flash:batchGenerateContent',
      { batch: { display_name: 'b', input_config: { requests: { requests: [{ request: prompt(`key ${BLOCKED_SECRET}`), metadata: { key: 'r1' } }] } } } }],
    ['Imagen :predict', '/v1beta/models/imagen-4.0-generate-001:predict', { instances: [{ prompt: `key ${BLOCKED_SECRET}` }], parameters: { sampleCount: 1 } }],
    ['Veo :predictLongRunning', '/v1beta/models/veo-3.0-generate-001:predictLongRunning', { instances: [{ prompt: `key ${BLOCKED_SECRET}` }] }],
  ])('%s', async (_label, path, body) => {
    const result = await edge.post(`https://${host}${path}`, body, BLOCKED_SECRET);
    expect(result).toEqual({ status: 446, reachedOrigin: false, secretAtOrigin: false });
  });

  it('a clean tuned-model request still reaches Gemini', async () => {
    const result = await edge.post(`https://${host}/v1beta/tunedModels/my-tuned:generateContent`, prompt('hello'), BLOCKED_SECRET);
    expect(result).toEqual({ status: 200, reachedOrigin: true, secretAtOrigin: false });
  });
});
