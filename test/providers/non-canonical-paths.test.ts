import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { recognizeRequest } from '../../src/providers/registry.js';
import { req } from './support.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

/** What Edge does with a target that is not in canonical form: refused, or passed as the host's other paths are. */
function action(host: string, path: string): string {
  const result = recognizeRequest(req('POST', host, path), catalog);
  if (result === undefined || !('unrecognized' in result)) throw new Error(`${host}${path} was read as a route`);
  return result.action;
}

describe('a path not in canonical form', () => {
  it.each([
    // Azure AI Services also serve Language and Vision: a client joining the endpoint and the path naively sends `//`.
    ['res.cognitiveservices.azure.com', '//language/:analyze-text?api-version=2023-04-01', 'pass'],
    ['res.services.ai.azure.com', '/vision//analyze', 'pass'],
    ['openrouter.ai', '//docs', 'pass'],
  ])('outside every API prefix of a host whose other paths pass, passes: %s%s', (host, path, expected) => {
    expect(action(host, path)).toBe(expected);
  });

  it.each([
    // Any reading an origin could make of these reaches an API route.
    ['res.cognitiveservices.azure.com', '//openai/deployments/gpt4o/chat/completions'],
    ['res.cognitiveservices.azure.com', '/x/../openai/v1/chat/completions'],
    ['res.services.ai.azure.com', '/%2e%2e/models/chat/completions'],
    ['res.services.ai.azure.com', '//API/projects/p/openai/v1/responses'],
    ['openrouter.ai', '/api//v1/chat/completions'],
    // The API at the root: no path is outside it.
    ['chatgpt.com', '/backend-api//conversation'],
    ['claude.ai', '/api//organizations/o/chat_conversations/c/completion'],
    ['api.githubcopilot.com', '//chat/completions'],
    // A host that serves nothing but its API refuses them all.
    ['res.openai.azure.com', '//anything'],
    ['api.openai.com', '/v1//chat/completions'],
  ])('that an origin could route to the API, or on an API-only host, is refused: %s%s', (host, path) => {
    expect(action(host, path)).toBe('reject');
  });
});
