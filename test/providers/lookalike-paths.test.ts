import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { expectFailed, req } from './support.js';

/**
 * Paths in canonical form that a lenient origin (letter case ignored, `;parameters` dropped, trailing blanks or dots
 * trimmed, dot segments resolved afterwards) routes to a route Edge reads, while Edge's exact matching would pass
 * them unread: under a root it does not read (`images`, `audio`), as a host's other paths, or as an unknown route on a
 * host that lets those through. Each is refused with a 400 instead.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

const AI_SERVICES = 'res.cognitiveservices.azure.com';
const RESOURCE = 'res.openai.azure.com';
const FOUNDRY = 'res.services.ai.azure.com';

/** The error Edge answers the request with; fails when Edge would forward it (read or not). */
function refusal(host: string, path: string, method = 'POST') {
  const found = recognizeRequest(req(method, host, path, { 'content-type': 'application/json' }), catalog);
  if (found === undefined) throw new Error(`${host} is not an AI surface`);
  if ('unrecognized' in found) throw new Error(`${method} ${host}${path} is unrecognised (${found.action}), not refused as a look-alike`);
  return expectFailed(parseRequest(found, JSON.stringify({ model: 'm', prompt: 'a cat', input: 'hi' })));
}

describe('a dot segment spelled for a lenient origin', () => {
  it.each([
    [AI_SERVICES, '/x/..;/openai/v1/chat/completions'],
    [AI_SERVICES, '/x/..%20/openai/v1/chat/completions'],
    [AI_SERVICES, '/x/..;/openai/deployments/gpt4o/chat/completions'],
    [FOUNDRY, '/x/..;a=b/models/chat/completions'],
    ['openrouter.ai', '/x/..;/api/v1/chat/completions'],
  ])('on a host whose other paths pass, %s%s is refused, not passed', (host, path) => {
    expect(refusal(host, path)).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it.each([
    // Trailing dots trimmed as IIS does; control and non-ASCII bytes that origins strip or fold (an overlong `/`).
    [AI_SERVICES, '/openai./v1/chat/completions'],
    [AI_SERVICES, '/openai%0a/v1/chat/completions'],
    [AI_SERVICES, '/openai%00/v1/chat/completions'],
    [AI_SERVICES, '/openai%C0%AFv1/chat/completions'],
    [AI_SERVICES, '/openai%u002fv1/chat/completions'],
  ])('%s%s (trailing dot, control or non-ASCII byte) is refused, not passed', (host, path) => {
    expect(refusal(host, path)).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it.each([
    [AI_SERVICES, '/language/:analyze-text?api-version=2023-04-01'],
    [AI_SERVICES, '/language/../vision/analyze'],
    [AI_SERVICES, '/x/..;/language/:analyze-text'],
    [FOUNDRY, '/contentsafety/text:analyze.'],
    ['openrouter.ai', '/x/..;/docs'],
  ])('a path whose every reading stays outside the API still passes: %s%s', (host, path) => {
    expect(recognizeRequest(req('POST', host, path), catalog)).toMatchObject({ unrecognized: true, action: 'pass' });
  });
});

describe('a route Edge reads, spelled for a lenient origin', () => {
  it.each([
    [AI_SERVICES, '/openai/deployments/dalle/images/Generations', 'images/generations'],
    [AI_SERVICES, '/openai/deployments/dalle/images/generations;x', 'images/generations'],
    [AI_SERVICES, '/openai/deployments/dalle/images/generations%20', 'images/generations'],
    [AI_SERVICES, '/openai/deployments/dalle/images/generations.', 'images/generations'],
    [AI_SERVICES, '/openai/images/generations:Submit', 'images/generations:submit'],
    [FOUNDRY, '/models/images/Embeddings', 'images/embeddings'],
    [FOUNDRY, '/api/projects/p/openai/deployments/d/images/Embeddings', 'images/embeddings'],
    [RESOURCE, '/openai/deployments/tts/audio/Speech', 'audio/speech'],
    [RESOURCE, '/openai/v1/images/edits;x', 'images/edits'],
    ['api.openai.com', '/v1/images/generations;x', 'images/generations'],
    ['api.openai.com', '/v1/audio/speech%20', 'audio/speech'],
    // Read as another route than its own: `threads/*` (unread) by exact match, `threads/runs` (read) leniently.
    ['api.openai.com', '/v1/threads/Runs', 'threads/runs'],
    // On a host that lets unknown routes through: the whole path is loosened, then matched under each of its prefixes
    // (Copilot's '' and '/v1'), so a blurred `/v1` reaches the route as well as a blurred route name does.
    ['api.githubcopilot.com', '/Chat/Completions', 'chat/completions'],
    ['api.githubcopilot.com', '/V1/chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/v1./chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/v1;x/chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/v1%20/chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/V1/responses', 'responses'],
    ['api.githubcopilot.com', '/x/..;/chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/x/..;/v1/chat/completions', 'chat/completions'],
    ['api.githubcopilot.com', '/chat/completions%0a', 'chat/completions'],
    ['api.githubcopilot.com', '/chat/completions%09', 'chat/completions'],
  ])('%s%s is refused, naming the route `%s`', (host, path, route) => {
    const error = refusal(host, path);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toContain(`\`${route}\``);
  });

  it('another method than POST on the look-alike is refused too', () => {
    expect(refusal('api.openai.com', '/v1/images/Generations', 'PUT')).toMatchObject({ status: 400 });
  });

  it.each([
    ['api.openai.com', '/v1/images/generations', true],
    ['api.openai.com', '/v1/chat/completions/chatcmpl_ABC', false],
    ['api.openai.com', '/v1/threads/thread_ABC/messages/msg_ABC', false],
    ['api.openai.com', '/v1/assistants/asst_ABC', true],
    [RESOURCE, '/openai/deployments/GPT4O/chat/completions', true],
    [RESOURCE, '/openai/v1/images/variations', false],
  ])('the exact spelling is forwarded as before: %s%s (read: %s)', (host, path, inspected) => {
    const found = recognizeRequest(req('POST', host, path), catalog);
    expect(found).toMatchObject({ route: { inspected } });
    expect(found && 'route' in found && 'refusal' in found.route).toBe(false);
  });

  it('GET on a look-alike is a listing as before (no body to read)', () => {
    expect(recognizeRequest(req('GET', 'api.openai.com', '/v1/images/Generations'), catalog)).toMatchObject({ route: { operation: 'images', inspected: false } });
  });
});

describe('a deployment name spelled for a lenient origin', () => {
  it.each(['gpt4o.', 'gpt4o%0A', 'gpt4o%C0%AF'])('/openai/deployments/%s/chat/completions is an unknown route', (name) => {
    expect(recognizeRequest(req('POST', RESOURCE, `/openai/deployments/${name}/chat/completions`), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });
});
