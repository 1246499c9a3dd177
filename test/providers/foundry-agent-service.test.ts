import { describe, expect, it } from 'vitest';
import { bifrostRoute } from '../../src/gateway/bifrost-routes.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import type { HttpRequestInfo } from '../../src/providers/types.js';
import { expectFailed, expectParsed, req } from './support.js';

/**
 * Azure AI Foundry's classic Agent Service: OpenAI's Assistants API at a Foundry project's root
 * (`/api/projects/{project}/assistants`, `.../threads/{thread}/runs`). Edge reads it as it reads the Assistants API on
 * api.openai.com; the project's other routes stay refused.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

const FOUNDRY = 'contoso-foundry.services.ai.azure.com';
const AI_SERVICES = 'contoso-ais.cognitiveservices.azure.com';
const PROJECT = '/api/projects/proj1';
const V1 = '?api-version=v1';

const json = { 'content-type': 'application/json' };

function recognized(request: HttpRequestInfo) {
  const result = recognizeRequest(request, catalog);
  if (result === undefined || 'unrecognized' in result) throw new Error(`${request.method} ${request.host}${request.path} not recognised`);
  return result;
}

const parsed = (method: string, host: string, path: string, body?: unknown) =>
  parseRequest(recognized(req(method, host, path, json)), body === undefined ? undefined : JSON.stringify(body));

const functionTool = { type: 'function', function: { name: 'lookup_order', description: 'finds an order for the customer', parameters: { type: 'object' } } };
const userMessage = { role: 'user', content: [{ type: 'text', text: 'where is my order?' }] };

describe('the Agent Service\'s prompt routes are read as OpenAI\'s Assistants routes', () => {
  it.each([
    ['assistants', { model: 'gpt4o-prod', name: 'support', instructions: 'answer politely', description: 'support desk', tools: [functionTool] }],
    ['assistants/asst_1', { model: 'gpt4o-mini', instructions: 'answer briefly' }],
    ['threads', { messages: [userMessage, { role: 'assistant', content: 'let me check' }] }],
    ['threads/thread_1/messages', { role: 'user', content: 'my order number is 42' }],
    ['threads/thread_1/runs', {
      assistant_id: 'asst_1', model: 'gpt4o-prod', instructions: 'be terse', additional_instructions: 'mention the order',
      additional_messages: [userMessage], tools: [functionTool], stream: true,
    }],
    ['threads/runs', { assistant_id: 'asst_1', thread: { messages: [userMessage] }, instructions: 'be terse' }],
    ['threads/thread_1/runs/run_1/submit_tool_outputs', { tool_outputs: [{ tool_call_id: 'call_1', output: 'order 42 shipped' }], stream: false }],
  ])('POST %s', (route, body) => {
    const openai = expectParsed(parsed('POST', 'api.openai.com', `/v1/${route}`, body));
    for (const host of [FOUNDRY, AI_SERVICES]) {
      const foundry = expectParsed(parsed('POST', host, `${PROJECT}/${route}${V1}`, body));
      expect(foundry).toMatchObject({ provider: 'azure', adapter: 'openai-compatible', inspected: true });
      for (const field of ['operation', 'model', 'stream', 'texts', 'tools'] as const) expect(foundry[field], field).toEqual(openai[field]);
    }
    expect(openai.texts.length).toBeGreaterThan(0);
  });

  it('a run names the deployment it overrides the assistant\'s with as its model; dated preview api-versions too', () => {
    const run = expectParsed(parsed('POST', FOUNDRY, `${PROJECT}/threads/thread_1/runs?api-version=2025-05-15-preview`, { assistant_id: 'asst_1', model: 'GPT4O-Prod' }));
    expect(run).toMatchObject({ operation: 'threads.runs', model: 'GPT4O-Prod', inspected: true });
    const assistant = expectParsed(parsed('POST', FOUNDRY, `${PROJECT}/assistants?api-version=2025-05-15-preview`, { model: 'gpt4o-prod', instructions: 'hi' }));
    expect(assistant).toMatchObject({ operation: 'assistants', model: 'gpt4o-prod' });
  });

  it('a body the Assistants API would not take is refused as it is on api.openai.com', () => {
    expect(expectFailed(parsed('POST', FOUNDRY, `${PROJECT}/threads/thread_1/messages${V1}`, { content: 'no role' }))).toMatchObject({ status: 400 });
  });

  it('a project name with upper case and digits is still a project', () => {
    expect(expectParsed(parsed('POST', FOUNDRY, `/api/projects/Sales-EU-2/threads/t1/messages${V1}`, { role: 'user', content: 'hi' })))
      .toMatchObject({ operation: 'threads.messages', inspected: true });
  });
});

describe('the Agent Service\'s other routes pass unread, as the Assistants API\'s do', () => {
  it.each([
    ['POST', 'threads/thread_1'],
    ['POST', 'threads/thread_1/messages/msg_1'],
    ['POST', 'threads/thread_1/runs/run_1'],
    ['POST', 'threads/thread_1/runs/run_1/cancel'],
    ['GET', 'assistants'],
    ['GET', 'assistants/asst_1'],
    ['DELETE', 'assistants/asst_1'],
    ['GET', 'threads/thread_1'],
    ['DELETE', 'threads/thread_1'],
    ['GET', 'threads/thread_1/messages'],
    ['GET', 'threads/thread_1/messages/msg_1'],
    ['GET', 'threads/thread_1/runs'],
    ['GET', 'threads/thread_1/runs/run_1'],
    ['GET', 'threads/thread_1/runs/run_1/steps'],
    ['GET', 'threads/thread_1/runs/run_1/steps/step_1'],
  ])('%s %s', (method, route) => {
    const openai = expectParsed(parsed(method, 'api.openai.com', `/v1/${route}`));
    const foundry = expectParsed(parsed(method, FOUNDRY, `${PROJECT}/${route}${V1}`));
    expect(foundry).toMatchObject({ provider: 'azure', inspected: false, operation: openai.operation });
  });

  it('a prompt route sent with another method than POST is refused (405), as on api.openai.com', () => {
    expect(expectFailed(parsed('PUT', FOUNDRY, `${PROJECT}/threads/runs${V1}`, { assistant_id: 'asst_1' }))).toMatchObject({ status: 405 });
  });
});

describe('the project\'s other routes stay refused', () => {
  it.each([
    ['GET', `${PROJECT}/connections${V1}`],
    ['GET', `${PROJECT}/connections/conn1/getConnectionWithCredentials${V1}`],
    ['POST', `${PROJECT}/evaluations/runs:run${V1}`],
    ['POST', `${PROJECT}/datasets/ds1/versions/1/startPendingUpload${V1}`],
    ['PATCH', `${PROJECT}/indexes/idx1/versions/1${V1}`],
    ['POST', `${PROJECT}/files${V1}`],
    ['POST', `${PROJECT}/vector_stores${V1}`],
    ['POST', `${PROJECT}/agents/a1/endpoint/protocols/openai/responses`],
    ['POST', `${PROJECT}/undocumented${V1}`],
    // What the OpenAI API's roots would let through elsewhere is no route at a project's root.
    ['POST', `${PROJECT}/chat/completions${V1}`],
    ['POST', `${PROJECT}/evals${V1}`],
    ['GET', `${PROJECT}/models`],
    ['GET', `${PROJECT}/info`],
    ['POST', PROJECT],
    // An Assistants route below a route it is not.
    ['POST', `${PROJECT}/threads/thread_1/runs/run_1/undocumented`],
    ['POST', `${PROJECT}/assistants/asst_1/files`],
    ['PATCH', `${PROJECT}/threads/thread_1`],
  ])('%s %s', (method, path) => {
    expect(recognizeRequest(req(method, FOUNDRY, path, json), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });
});

describe('look-alikes of the Agent Service\'s routes', () => {
  it.each([
    `${PROJECT}/Assistants`,
    `${PROJECT}/THREADS/runs`,
    `${PROJECT}/threads;x/runs`,
    `${PROJECT}/threads./runs`,
    `${PROJECT}/threads%20/runs`,
    `${PROJECT}/assistants%00`,
    `${PROJECT}/threads/thread_1/Messages`,
    `${PROJECT}/threads/thread_1/messages;x`,
    `${PROJECT}/threads/thread_1/runs/run_1/Submit_Tool_Outputs`,
    `${PROJECT}/x/..;/threads/runs`,
  ])('a root or route no exact match reads is refused as an unknown route: %s', (path) => {
    expect(recognizeRequest(req('POST', FOUNDRY, path, json), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });

  it.each([
    [`${PROJECT}/threads/Runs`, 'threads/runs'],
    [`${PROJECT}/threads/runs;x`, 'threads/runs'],
    [`${PROJECT}/threads/runs.`, 'threads/runs'],
    [`${PROJECT}/threads/runs%20`, 'threads/runs'],
  ])('%s, forwarded unread as another route by exact match, is refused naming `%s`', (path, route) => {
    const error = expectFailed(parsed('POST', FOUNDRY, path, { assistant_id: 'asst_1' }));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'azure' });
    expect(error.message).toContain(`\`${route}\``);
  });

  it.each([
    `${PROJECT}/threads/thread_1/..;/..;/connections`,
    `${PROJECT}/threads/%2e%2e/connections`,
    `/API/Projects/proj1/threads/runs`,
    `/api/projects;x/proj1/threads/runs`,
  ])('%s, a dot segment or an API path in disguise, is refused', (path) => {
    const found = recognizeRequest(req('POST', FOUNDRY, path, json), catalog);
    if (found !== undefined && 'unrecognized' in found) expect(found.action).toBe('reject');
    else expect(parseRequest(found!, '{}').ok).toBe(false);
  });

  it('an escape the origin decodes to the route itself is that route, read', () => {
    expect(expectParsed(parsed('POST', FOUNDRY, `${PROJECT}/thread%73/runs`, { assistant_id: 'asst_1', instructions: 'be terse' })))
      .toMatchObject({ operation: 'threads.runs', inspected: true });
  });
});

describe('gateway modes', () => {
  const routeFor = (method: string, path: string, body?: unknown) => {
    const found = recognized(req(method, FOUNDRY, path, json));
    const request = expectParsed(parseRequest(found, body === undefined ? undefined : JSON.stringify(body)));
    return (mode: 'gateway' | 'passthrough') => bifrostRoute({ provider: found.entry.provider, route: found.route, model: request.model }, mode);
  };

  it.each([
    ['POST', `${PROJECT}/assistants${V1}`, { model: 'gpt4o-prod', instructions: 'hi' }],
    ['POST', `${PROJECT}/threads/thread_1/runs${V1}`, { assistant_id: 'asst_1', model: 'gpt4o-prod' }],
    ['POST', `${PROJECT}/threads/thread_1/messages${V1}`, { role: 'user', content: 'hi' }],
    ['GET', `${PROJECT}/threads/thread_1/runs/run_1${V1}`, undefined],
  ])('gateway: %s %s goes to the origin (Bifrost has no route that reaches the project\'s agents)', (method, path, body) => {
    expect(routeFor(method, path, body)('gateway')).toBeNull();
  });

  it('pass-through: to Bifrost\'s /azure_passthrough with the path as sent, as the project\'s OpenAI API is', () => {
    expect(routeFor('POST', `${PROJECT}/threads/runs${V1}`, { assistant_id: 'asst_1' })('passthrough'))
      .toEqual({ path: `/azure_passthrough${PROJECT}/threads/runs${V1}`, dropAppCredentials: true });
  });
});
