import { describe, expect, it } from 'vitest';
import { bifrostRoute } from '../../src/gateway/bifrost-routes.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import { isRefused } from '../../src/providers/route-lookalike.js';
import type { HttpRequestInfo } from '../../src/providers/types.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, toolsOf } from './support.js';

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

describe('tools other than functions are read but for their settings, on the Agent Service and on OpenAI\'s Assistants API', () => {
  const SECRET = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
  const openapi = {
    type: 'openapi',
    openapi: {
      name: 'orders', description: `the orders API; call it with ${SECRET}`,
      spec: { openapi: '3.0.0', info: { title: 'Orders', version: '1' }, paths: { '/orders': { get: { operationId: 'list', summary: 'lists orders' } } } },
      auth: { type: 'connection', security_scheme: { connection_id: '/subscriptions/s/connections/orders-conn' } },
    },
  };
  const azureFunction = {
    type: 'azure_function',
    azure_function: {
      function: { name: 'ship', description: 'ships an order', parameters: { type: 'object', properties: { carrier: { type: 'string', description: `use account ${SECRET}` } } } },
      input_binding: { type: 'storage_queue', storage_queue: { queue_service_endpoint: 'https://st.queue.core.windows.net', queue_name: 'in' } },
      output_binding: { type: 'storage_queue', storage_queue: { queue_service_endpoint: 'https://st.queue.core.windows.net', queue_name: 'out' } },
    },
  };
  const connectedAgent = { type: 'connected_agent', connected_agent: { id: 'asst_helper', name: 'refunds', description: `hand over refunds; its key is ${SECRET}` } };
  const mcp = { type: 'mcp', server_label: 'github', server_url: 'https://api.githubcopilot.com/mcp', allowed_tools: ['list_issues'] };
  const settingsOnly = [
    { type: 'code_interpreter' },
    { type: 'file_search', file_search: { max_num_results: 5 } },
    { type: 'bing_grounding', bing_grounding: { search_configurations: [{ connection_id: '/subscriptions/s/connections/bing', count: 5 }] } },
    { type: 'azure_ai_search' },
  ];
  const unknown = { type: 'brand_new_tool', name: 'new_thing', guidance: `use it with ${SECRET}` };

  const hosts = [[FOUNDRY, PROJECT, V1], ['api.openai.com', '/v1', '']] as const;
  const routes = [['assistants', { model: 'gpt4o-prod' }], ['threads/thread_1/runs', { assistant_id: 'asst_1' }], ['threads/runs', { assistant_id: 'asst_1' }]] as const;

  it.each(hosts.flatMap(([host, root, query]) => routes.map(([route, base]) => [host, `${root}/${route}${query}`, base] as const)))(
    '%s %s: an OpenAPI tool\'s description, an Azure Function\'s parameter description, a connected agent\'s description and an unknown tool are read',
    (host, path, base) => {
      for (const tool of [openapi, azureFunction, connectedAgent, unknown]) {
        const body = { ...base, tools: [tool] };
        const request = expectParsed(parsed('POST', host, path, body));
        const secrets = request.texts.filter((t) => t.text.includes(SECRET));
        expect(secrets, tool.type).toHaveLength(1);
        expect(secrets[0]).toMatchObject({ kind: 'tool_definition' });
        expectPathsPointAtStrings(body, request);
      }
    },
  );

  it('each tool\'s texts and names, and none of its settings (auth, bindings, connections, the MCP server\'s address)', () => {
    const body = { model: 'gpt4o-prod', tools: [openapi, azureFunction, connectedAgent, mcp, ...settingsOnly] };
    const request = expectParsed(parsed('POST', FOUNDRY, `${PROJECT}/assistants${V1}`, body));
    expect(request.texts.map((t) => t.text)).toEqual([
      'orders', `the orders API; call it with ${SECRET}`, '3.0.0', 'Orders', '1', 'list', 'lists orders',
      'ships an order', 'carrier', `use account ${SECRET}`,
      'refunds', `hand over refunds; its key is ${SECRET}`,
      'github', 'list_issues',
    ]);
    expect(toolsOf(request)).toEqual([['definition', 'orders'], ['definition', 'ship'], ['definition', 'refunds']]);
    expectPathsPointAtStrings(body, request);
  });

  it('a Foundry tool whose definition is not an object has its strings read, not skipped as a setting', () => {
    const request = expectParsed(parsed('POST', FOUNDRY, `${PROJECT}/assistants${V1}`, { model: 'gpt4o-prod', tools: [{ type: 'openapi', openapi: [`spec ${SECRET}`] }] }));
    expect(request.texts.map((t) => t.text)).toEqual([`spec ${SECRET}`]);
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

  it('an escaped dot segment is refused as an unknown route', () => {
    expect(recognizeRequest(req('POST', FOUNDRY, `${PROJECT}/threads/%2e%2e/connections`, json), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });

  it.each([
    [`${PROJECT}/threads/thread_1/..;/..;/connections`, 'is a dot segment'],
    [`/API/Projects/proj1/threads/runs`, 'a lenient reading of it'],
    [`/api/projects;x/proj1/threads/runs`, 'a lenient reading of it'],
  ])('%s, a dot segment or an API path in disguise, is recognised only to be refused, saying why', (path, why) => {
    const found = recognized(req('POST', FOUNDRY, path, json));
    // The refusal itself, not any failure to read a body: a run's own body is refused the same.
    if (!isRefused(found.route)) throw new Error(`${path} was recognised as ${found.route.operation}, not refused`);
    expect(found.route.refusal).toMatchObject({ status: 400, type: 'invalid_request', provider: 'azure' });
    const error = expectFailed(parseRequest(found, JSON.stringify({ assistant_id: 'asst_1', instructions: 'be terse' })));
    expect(error).toEqual(found.route.refusal);
    expect(error.message).toContain(why);
  });

  // A lenient origin may take each for project proj1, while Edge's look-alike checks read only the name as sent.
  const BLURRED_PROJECTS = ['proj1;x', 'proj1.', 'proj1%20', 'proj1%3Bx', 'proj1%3bx', 'proj1%09', 'proj1..'];
  it.each(BLURRED_PROJECTS.flatMap((project) => [
    `/api/projects/${project}/threads/Runs`,
    `/api/projects/${project}/threads/runs`,
    `/api/projects/${project}/assistants`,
    `/api/projects/${project}/openai/v1/images/Generations`,
    `/api/projects/${project}/openai/v1/chat/completions`,
  ]))('a project name a lenient origin reads as another is refused as an unknown route, as a blurred deployment is: %s', (path) => {
    expect(recognizeRequest(req('POST', FOUNDRY, `${path}${V1}`, json), catalog)).toMatchObject({ unrecognized: true, action: 'reject' });
  });

  it.each(['proj1', 'Sales-EU-2', 'my_project', 'p.1', 'proj-1.eu'])('a project named %s exactly is still read', (project) => {
    expect(expectParsed(parsed('POST', FOUNDRY, `/api/projects/${project}/threads/runs${V1}`, { assistant_id: 'asst_1', instructions: 'be terse' })))
      .toMatchObject({ operation: 'threads.runs', inspected: true });
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
