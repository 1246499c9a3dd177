import { describe, expect, it } from 'vitest';
import { bifrostRoute, type ForwardMode } from '../../src/gateway/bifrost-routes.js';
import { planUpstream, type UpstreamSettings } from '../../src/gateway/upstream-plan.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { posesAsApiPath, staysOutsideApiPaths } from '../../src/providers/route-path.js';
import { expectParsed, req } from './support.js';

/**
 * Azure OpenAI as an AI surface: its resource hosts are decrypted, its routes read as OpenAI's (the deployment in
 * the path is the model), and in gateway mode its requests go to Bifrost's azure provider as `azure/{deployment}`.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

const RESOURCE = 'contoso.openai.azure.com';
const AI_SERVICES = 'contoso-ais.cognitiveservices.azure.com';
const FOUNDRY = 'contoso-foundry.services.ai.azure.com';

function recognized(method: string, host: string, path: string) {
  const result = recognizeRequest(req(method, host, path, { 'content-type': 'application/json' }), catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`${method} ${host}${path} not recognised`);
  return result;
}

describe('hosts', () => {
  it.each([
    [RESOURCE, 'Azure OpenAI'],
    ['CONTOSO.openai.azure.com:443', 'Azure OpenAI'],
    [AI_SERVICES, 'Azure AI Services'],
    [FOUNDRY, 'Azure AI Services'],
    ['openai.azure.com', undefined],
    ['contoso.openai.azure.com.evil.example', undefined],
    ['management.azure.com', undefined],
  ])('%s → %s', (host, label) => {
    expect(catalog.match(host)?.label).toBe(label);
  });

  it('every resource host is governed as Bifrost\'s `azure` provider and decrypted', () => {
    for (const host of [RESOURCE, AI_SERVICES, FOUNDRY]) expect(catalog.match(host)?.provider).toBe('azure');
    expect(catalog.hosts()).toEqual(expect.arrayContaining(['*.openai.azure.com', '*.cognitiveservices.azure.com', '*.services.ai.azure.com']));
  });
});

describe('routes and the model they name', () => {
  const chat = { model: 'ignored-by-azure', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello azure' }], stream: true };

  it.each([
    // The deployments path: the deployment is the model, whatever the body says.
    [RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', chat, 'chat.completions', 'gpt4o-prod'],
    [RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { messages: chat.messages }, 'chat.completions', 'gpt4o-prod'],
    [RESOURCE, '/openai/deployments/gpt-35-instruct/completions?api-version=2024-10-21', { prompt: 'hello azure' }, 'completions', 'gpt-35-instruct'],
    [RESOURCE, '/openai/deployments/embed-large/embeddings?api-version=2024-10-21', { input: 'hello azure' }, 'embeddings', 'embed-large'],
    [AI_SERVICES, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2025-01-01-preview', chat, 'chat.completions', 'gpt4o-prod'],
    // The v1 API and the dated Responses API: the model (a deployment's name) is in the body.
    [RESOURCE, '/openai/v1/chat/completions', { ...chat, model: 'gpt4o-prod' }, 'chat.completions', 'gpt4o-prod'],
    [RESOURCE, '/openai/v1/responses', { model: 'gpt-5-mini', input: 'hello azure' }, 'responses', 'gpt-5-mini'],
    [RESOURCE, '/openai/responses?api-version=2025-04-01-preview', { model: 'gpt-5-mini', input: 'hello azure' }, 'responses', 'gpt-5-mini'],
    [RESOURCE, '/openai/v1/embeddings', { model: 'embed-large', input: ['hello azure'] }, 'embeddings', 'embed-large'],
    [FOUNDRY, '/openai/v1/chat/completions', { ...chat, model: 'DeepSeek-R1' }, 'chat.completions', 'DeepSeek-R1'],
    // Azure AI Foundry's model inference API.
    [FOUNDRY, '/models/chat/completions?api-version=2024-05-01-preview', { ...chat, model: 'Phi-4' }, 'chat.completions', 'Phi-4'],
    // A Foundry project's OpenAI API, as AIProjectClient's OpenAI client calls it: the model is in the body.
    [FOUNDRY, '/api/projects/proj1/openai/v1/responses', { model: 'gpt-5-mini', input: 'hello azure' }, 'responses', 'gpt-5-mini'],
    [FOUNDRY, '/api/projects/proj1/openai/responses?api-version=2025-05-15-preview', { model: 'gpt-5-mini', input: 'hello azure' }, 'responses', 'gpt-5-mini'],
    [FOUNDRY, '/api/projects/proj1/openai/v1/chat/completions', { ...chat, model: 'gpt4o-prod' }, 'chat.completions', 'gpt4o-prod'],
    [FOUNDRY, '/api/projects/proj1/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', chat, 'chat.completions', 'gpt4o-prod'],
    // Azure's own prompt routes that would otherwise pass unread under `images`.
    [FOUNDRY, '/models/images/embeddings?api-version=2024-05-01-preview', { model: 'Cohere-embed-v3', input: [{ image: 'data:image/png;base64,AAAA', text: 'hello azure' }] }, 'images.embeddings', 'Cohere-embed-v3'],
    [RESOURCE, '/openai/images/generations:submit?api-version=2023-06-01-preview', { prompt: 'hello azure', n: 1 }, 'images.generations', null],
  ])('%s%s reads %s as %s on model %s', (host, path, body, operation, model) => {
    const request = expectParsed(parseRequest(recognized('POST', host, path), JSON.stringify(body)));
    expect(request).toMatchObject({ provider: 'azure', adapter: 'openai-compatible', operation, model, inspected: true });
    expect(request.texts.map((t) => t.text)).toContain('hello azure');
  });

  it('a streamed chat on the deployments path is read as streaming', () => {
    const request = expectParsed(parseRequest(recognized('POST', RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21'), JSON.stringify(chat)));
    expect(request.stream).toBe(true);
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([['system', 'be brief'], ['user', 'hello azure']]);
  });

  it.each([
    ['GET', '/openai/models?api-version=2024-10-21', 'models', null],
    ['POST', '/openai/files?api-version=2024-10-21', 'files', null],
    ['POST', '/openai/deployments/gpt4o-batch/batches?api-version=2024-10-21', 'batches', 'gpt4o-batch'],
    ['GET', '/openai/v1/responses/resp_1', 'responses', null],
    // Deployment listings, and Foundry's model description: no prompt in them.
    ['GET', '/openai/deployments?api-version=2022-12-01', 'deployments', null],
    ['GET', '/openai/deployments/gpt4o-prod?api-version=2022-12-01', 'deployments', null],
  ])('%s %s is known and forwarded unread (%s, model %s)', (method, path, operation, model) => {
    const request = expectParsed(parseRequest(recognized(method, RESOURCE, path), undefined));
    expect(request).toMatchObject({ provider: 'azure', operation, model, inspected: false });
  });

  it.each([
    ['GET', '/models/info?api-version=2024-05-01-preview', 'models.info'],
    ['GET', '/api/projects/proj1/openai/deployments', 'deployments'],
  ])('Foundry: %s %s is known and forwarded unread (%s)', (method, path, operation) => {
    const request = expectParsed(parseRequest(recognized(method, FOUNDRY, path), undefined));
    expect(request).toMatchObject({ provider: 'azure', operation, model: null, inspected: false });
  });

  it.each([
    // Unknown routes under /openai, and any other path on the resource host: a 404 that names the route.
    ['POST', RESOURCE, '/openai/deployments/gpt4o-prod/extensions/chat/completions?api-version=2024-10-21'],
    ['POST', RESOURCE, '/openai/deployments/gpt4o-prod/undocumented'],
    ['POST', RESOURCE, '/openai/deployments/gpt4o-prod'],
    ['POST', RESOURCE, '/openai/undocumented'],
    ['POST', RESOURCE, '/v1/chat/completions'],
    ['GET', RESOURCE, '/'],
    ['POST', AI_SERVICES, '/openai/undocumented'],
    ['POST', FOUNDRY, '/models/undocumented'],
    // Not canonical: `..` could reach another route than the one Edge read.
    ['POST', RESOURCE, '/openai/deployments/gpt4o-prod/../x/chat/completions'],
    // A deployment name a lenient origin may read as another one than policy judged.
    ['POST', RESOURCE, '/openai/deployments/gpt4o-prod;x=1/chat/completions'],
    ['POST', AI_SERVICES, '/openai/deployments/gpt4o-prod%20/chat/completions'],
    // A deployment is created or changed with no prompt, but not through Edge: only its listings pass.
    ['POST', RESOURCE, '/openai/deployments?api-version=2022-12-01'],
    ['PUT', RESOURCE, '/openai/deployments/gpt4o-prod?api-version=2022-12-01'],
    // A Foundry project's routes that are neither its OpenAI API nor its Agent Service (foundry-agent-service.test.ts) are not read.
    ['POST', FOUNDRY, '/api/projects/proj1/agents/a1/endpoint/protocols/openai/responses'],
    ['POST', FOUNDRY, '/api/projects/proj1/evaluations/runs:run?api-version=2025-05-15-preview'],
    ['GET', FOUNDRY, '/api/projects/proj1/connections?api-version=2025-05-15-preview'],
    ['POST', FOUNDRY, '/api/projects/proj1/openai/undocumented'],
    ['POST', FOUNDRY, '/api/projects/proj1'],
    ['POST', FOUNDRY, '/api/projects'],
    // `/models/info` is a GET.
    ['POST', FOUNDRY, '/models/info'],
  ])('%s %s%s is refused', (method, host, path) => {
    expect(recognizeRequest(req(method, host, path), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });

  it('Azure\'s other AI APIs on the shared AI Services hosts pass unread, as before these hosts were decrypted', () => {
    expect(recognizeRequest(req('POST', AI_SERVICES, '/language/:analyze-text?api-version=2023-04-01'), catalog)).toMatchObject({ unrecognized: true, action: 'pass' });
    expect(recognizeRequest(req('POST', FOUNDRY, '/contentsafety/text:analyze?api-version=2024-09-01'), catalog)).toMatchObject({ unrecognized: true, action: 'pass' });
  });

  it.each([
    [AI_SERVICES, '/OpenAI/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21'],
    [AI_SERVICES, '/openai;x=1/deployments/gpt4o-prod/chat/completions'],
    [AI_SERVICES, '/OPENAI/v1/chat/completions'],
    [FOUNDRY, '/Models/chat/completions?api-version=2024-05-01-preview'],
    [FOUNDRY, '/MODELS/chat/completions'],
    [FOUNDRY, '/models;a=b/chat/completions'],
    [FOUNDRY, '/API/Projects/proj1/openai/v1/responses'],
  ])('on the shared hosts, %s%s (an API path in another letter case or with `;` parameters) is refused, not passed', (host, path) => {
    const found = recognized('POST', host, path);
    const parsed = parseRequest(found, JSON.stringify(chat));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'azure' });
    if (!parsed.ok) expect(parsed.error.message).toContain('letter case');
  });

  it('a path outside the API prefixes in any case still passes on the shared hosts', () => {
    expect(recognizeRequest(req('POST', AI_SERVICES, '/Language/:analyze-text?api-version=2023-04-01'), catalog)).toMatchObject({ unrecognized: true, action: 'pass' });
    expect(recognizeRequest(req('GET', FOUNDRY, '/openaiish/x'), catalog)).toMatchObject({ unrecognized: true, action: 'pass' });
  });

  it('a prompt route sent with another method than POST is refused (405), as on api.openai.com', () => {
    const route = recognized('PUT', RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions');
    const parsed = parseRequest(route, JSON.stringify(chat));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ status: 405, provider: 'azure' });
  });
});

describe('Bifrost routes', () => {
  function routeFor(method: string, host: string, path: string, body: unknown, mode: ForwardMode) {
    const found = recognized(method, host, path);
    const parsed = expectParsed(parseRequest(found, body === undefined ? undefined : JSON.stringify(body)));
    return bifrostRoute({ provider: found.entry.provider, route: found.route, model: parsed.model }, mode);
  }
  const messages = [{ role: 'user', content: 'hi' }];

  it.each([
    // Through Bifrost's OpenAI integration to its azure provider, as `azure/{deployment}`; the api-version stays behind.
    [RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { messages }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }],
    [RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21&subscription-key=apim-secret', { messages }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }],
    [RESOURCE, '/openai/deployments/gpt35/completions?api-version=2024-10-21', { prompt: 'hi' }, { path: '/openai/v1/completions', model: 'azure/gpt35' }],
    [RESOURCE, '/openai/deployments/embed-large/embeddings?api-version=2024-10-21', { input: 'hi' }, { path: '/openai/v1/embeddings', model: 'azure/embed-large' }],
    [RESOURCE, '/openai/v1/chat/completions', { model: 'gpt4o-prod', messages }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }],
    [RESOURCE, '/openai/v1/chat/completions', { model: 'azure/gpt4o-prod', messages }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }],
    [RESOURCE, '/openai/responses?api-version=2025-04-01-preview', { model: 'gpt-5-mini', input: 'hi' }, { path: '/openai/v1/responses', model: 'azure/gpt-5-mini' }],
    [AI_SERVICES, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { messages }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }],
    [FOUNDRY, '/models/chat/completions?api-version=2024-05-01-preview', { model: 'Phi-4', messages }, { path: '/openai/v1/chat/completions', model: 'azure/Phi-4' }],
  ])('gateway: %s%s → %j', (host, path, body, expected) => {
    expect(routeFor('POST', host, path, body, 'gateway')).toEqual(expected);
  });

  it.each([
    ['GET', '/openai/responses/resp_123?api-version=2025-04-01-preview'],
    ['DELETE', '/openai/responses/resp_123?api-version=2025-04-01-preview'],
    ['POST', '/openai/responses/resp_123/cancel?api-version=2025-04-01-preview'],
    ['GET', '/openai/v1/responses/resp_123'],
    ['GET', '/openai/v1/chat/completions/chatcmpl_1'],
    ['DELETE', '/openai/v1/chat/completions/chatcmpl_1'],
  ])('gateway: the stored object at %s %s goes to the origin (Bifrost would pick no Azure provider for it)', (method, path) => {
    expect(routeFor(method, RESOURCE, path, undefined, 'gateway')).toBeNull();
  });

  it('gateway: a Foundry project\'s Responses call goes to Bifrost as the azure model', () => {
    expect(routeFor('POST', FOUNDRY, '/api/projects/proj1/openai/v1/responses', { model: 'gpt-5-mini', input: 'hi' }, 'gateway'))
      .toEqual({ path: '/openai/v1/responses', model: 'azure/gpt-5-mini' });
  });

  it('gateway: routes Bifrost cannot send to the app\'s resource (its files, model list, images) go to the origin', () => {
    expect(routeFor('GET', RESOURCE, '/openai/models?api-version=2024-10-21', undefined, 'gateway')).toBeNull();
    expect(routeFor('POST', RESOURCE, '/openai/deployments/dalle3/images/generations?api-version=2024-10-21', { prompt: 'a cat' }, 'gateway')).toBeNull();
  });

  it('pass-through: Bifrost\'s /azure_passthrough with the path as the app sent it', () => {
    expect(routeFor('POST', RESOURCE, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { messages }, 'passthrough'))
      .toEqual({ path: '/azure_passthrough/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', dropAppCredentials: true });
  });
});

describe('upstream headers', () => {
  function routeForPassthrough(path: string) {
    const found = recognized('POST', RESOURCE, path);
    return bifrostRoute({ provider: found.entry.provider, route: found.route, model: 'gpt4o-prod' }, 'passthrough');
  }
  const target = {
    host: RESOURCE, port: 443, tls: true, path: '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21',
    headers: { host: RESOURCE, 'api-key': 'azure-resource-key', 'content-type': 'application/json' },
  };

  it('gateway mode: the employee\'s virtual key goes to Bifrost, the resource\'s api-key (or Entra token) stays on the laptop', () => {
    const settings: UpstreamSettings = { mode: 'gateway', gatewayUrl: 'https://gw.example.com', virtualKey: 'sk-bf-employee', originOverrides: {} };
    const plan = planUpstream(settings, { ...target, headers: { ...target.headers, authorization: 'Bearer entra-token' } }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }, {});
    expect(plan).toMatchObject({ via: 'gateway', rewriteModel: 'azure/gpt4o-prod' });
    expect(plan.url.toString()).toBe('https://gw.example.com/openai/v1/chat/completions');
    expect(plan.headers['x-bf-vk']).toBe('sk-bf-employee');
    expect(plan.headers['api-key']).toBeUndefined();
    expect(plan.headers.authorization).toBeUndefined();
  });

  it('gateway mode: an Azure AI Services resource key (ocp-apim-subscription-key) stays on the laptop too', () => {
    const settings: UpstreamSettings = { mode: 'gateway', gatewayUrl: 'https://gw.example.com', virtualKey: 'sk-bf-employee', originOverrides: {} };
    const plan = planUpstream(settings, { ...target, headers: { ...target.headers, 'ocp-apim-subscription-key': 'ais-resource-key' } }, { path: '/openai/v1/chat/completions', model: 'azure/gpt4o-prod' }, {});
    expect(plan.headers['ocp-apim-subscription-key']).toBeUndefined();
    expect(JSON.stringify(plan.headers)).not.toContain('ais-resource-key');
  });

  it('pass-through mode: Bifrost\'s /azure_passthrough gets the virtual key and none of the app\'s resource credentials', () => {
    const settings: UpstreamSettings = { mode: 'passthrough', gatewayUrl: 'https://gw.example.com', virtualKey: 'sk-bf-employee', originOverrides: {} };
    const headers = { ...target.headers, authorization: 'Bearer entra-token', 'ocp-apim-subscription-key': 'ais-resource-key' };
    const mapping = routeForPassthrough(target.path);
    const plan = planUpstream(settings, { ...target, headers }, mapping, {});
    expect(plan.via).toBe('passthrough');
    expect(plan.url.toString()).toBe('https://gw.example.com/azure_passthrough/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21');
    expect(plan.headers['x-bf-vk']).toBe('sk-bf-employee');
    expect(plan.headers['api-key']).toBeUndefined();
    expect(plan.headers.authorization).toBeUndefined();
    expect(plan.headers['ocp-apim-subscription-key']).toBeUndefined();
    expect(plan.headers['content-type']).toBe('application/json');
  });

  it('pass-through mode: a key in the query (subscription-key, api-key, any letter case) is not sent to /azure_passthrough', () => {
    const settings: UpstreamSettings = { mode: 'passthrough', gatewayUrl: 'https://gw.example.com', virtualKey: 'sk-bf-employee', originOverrides: {} };
    const path = '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21&subscription-key=apim-secret&Api-Key=resource-secret&Subscription%2DKey=x';
    const plan = planUpstream(settings, { ...target, path }, routeForPassthrough(path), {});
    expect(plan.url.toString()).toBe('https://gw.example.com/azure_passthrough/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21');
  });

  it('pass-through mode to OpenAI still forwards the app\'s key (its pass-through reaches the endpoint the key is for)', () => {
    const settings: UpstreamSettings = { mode: 'passthrough', gatewayUrl: 'https://gw.example.com', virtualKey: 'sk-bf-employee', originOverrides: {} };
    const found = recognizeRequest(req('POST', 'api.openai.com', '/v1/chat/completions'), catalog);
    if (found === undefined || 'unrecognized' in found) throw new Error('not recognised');
    const mapping = bifrostRoute({ provider: found.entry.provider, route: found.route, model: 'gpt-4o' }, 'passthrough');
    const plan = planUpstream(settings, { ...target, host: 'api.openai.com', path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-proj-app' } }, mapping, {});
    expect(plan.headers.authorization).toBe('Bearer sk-proj-app');
  });

  it('local mode: to the resource unchanged, api-key kept', () => {
    const plan = planUpstream({ mode: 'local', originOverrides: {} }, target, null, {});
    expect(plan.via).toBe('origin');
    expect(plan.url.toString()).toBe(`https://${RESOURCE}/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21`);
    expect(plan.headers['api-key']).toBe('azure-resource-key');
  });
});

describe('paths that pose as API paths', () => {
  const prefixes = ['/openai/v1', '/openai', '/models', '/api/projects'];

  it.each([
    ['/OpenAI/deployments/d/chat/completions', true],
    ['/openai;v=1/v1/chat/completions', true],
    ['/models%20/chat/completions', true],
    ['/MODELS', true],
    // A dot segment once `;parameters` or trailing blanks are dropped; a trailing dot; control and non-ASCII bytes.
    ['/x/..;/openai/v1/chat/completions', true],
    ['/x/..%20/models/chat/completions', true],
    ['/openai./v1/chat/completions', true],
    ['/openai%0A/v1/chat/completions', true],
    ['/openai%C0%AFv1/chat/completions', true],
    ['/x/..;/language/:analyze-text', false],
    ['/openai/deployments/d/chat/completions', false],
    ['/language/:analyze-text', false],
    ['/openaiX/chat', false],
  ])('%s poses as an API path: %s', (path, expected) => {
    expect(posesAsApiPath(path, prefixes)).toBe(expected);
  });

  it('a host whose API sits at the root has no path outside it to pose', () => {
    expect(posesAsApiPath('/V1/chat/completions', ['', '/v1'])).toBe(false);
  });

  it.each([
    // What registry.ts needs to let `//language/...` pass on the shared hosts as before (see staysOutsideApiPaths).
    ['//language/:analyze-text?api-version=2023-04-01', true],
    ['/vision//analyze', true],
    ['//openai/deployments/d/chat/completions', false],
    ['/x/../openai/v1/chat/completions', false],
    ['/x/%2e%2e/Models/chat/completions', false],
    ['/x%2F..%2Fopenai/v1/responses', false],
    ['/x/%252e%252e/openai/v1/responses', false],
    ['/x\\..\\openai/v1/responses', false],
    ['//API/projects/p/openai/v1/responses', false],
    ['//language/x#frag', false],
    ['//openai./v1/chat/completions', false],
    ['//x/.. ./openai/v1/chat/completions', false],
    ['//x/..%00/openai/v1/chat/completions', false],
    ['//openai%00/v1/chat/completions', false],
    ['//x/%C0%AE%C0%AE/openai/v1/chat/completions', false],
    ['//x/..%u002f/openai/v1/chat/completions', false],
    ['//language/caf%C3%A9', false],
  ])('non-canonical %s stays outside every API path: %s', (path, expected) => {
    expect(staysOutsideApiPaths(path, prefixes)).toBe(expected);
  });
});
