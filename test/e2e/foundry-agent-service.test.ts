import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';

/**
 * Azure AI Foundry's classic Agent Service (OpenAI's Assistants API at a project's root) through the real CLI in local
 * mode, driven by the official `openai` package's Assistants client pointed at the project, against a TLS origin
 * standing in for the Foundry resource: the deployments an assistant or a run names are held to the key's list, the
 * guardrails read the thread's messages, an allowed run is forwarded and recorded with its usage, and the project's
 * other routes are still refused.
 */

const FOUNDRY = 'contoso-foundry.services.ai.azure.com';
const PROJECT = '/api/projects/proj1';
const FOUNDRY_KEY = 'foundry-resource-key-0123456789abcdef';
const KEY = 'sk-bf-foundry-agents-0001';
/** A GitHub token the default guardrails block (446); built from parts so secret scanners pass this file. */
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const RUN_USAGE = { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 };

interface Seen { method: string; url: string; body: string }
interface AuditRecord { path: string; provider?: string; model?: string | null; decision: string; reason?: string; status?: number; usage?: { input_tokens: number; output_tokens: number } }

const seen: Seen[] = [];
let origin: TestOrigin;
let edge: EdgeProcess;

/** Answers as the Agent Service does, with the object each route creates; a run completes at once and reports its usage. */
function answer(method: string, route: string, body: Record<string, unknown>, res: http.ServerResponse): void {
  const send = (doc: Record<string, unknown>) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  };
  if (method === 'POST' && route === '/assistants') {
    send({ id: 'asst_1', object: 'assistant', created_at: 1, model: body['model'], name: body['name'] ?? null, instructions: body['instructions'] ?? null, tools: [], metadata: {} });
  } else if (method === 'POST' && route === '/threads') {
    send({ id: 'thread_1', object: 'thread', created_at: 1, metadata: {} });
  } else if (method === 'POST' && route === '/threads/thread_1/messages') {
    send({ id: 'msg_1', object: 'thread.message', created_at: 1, thread_id: 'thread_1', role: 'user', content: [], metadata: {} });
  } else if ((method === 'POST' && /^\/threads\/thread_\d\/runs$/.test(route)) || (method === 'GET' && route === '/threads/thread_1/runs/run_1')) {
    send({
      id: 'run_1', object: 'thread.run', created_at: 1, thread_id: route.split('/')[2], assistant_id: 'asst_1', status: 'completed',
      model: body['model'] ?? 'gpt4o-prod', instructions: '', tools: [], usage: RUN_USAGE, metadata: {},
    });
  } else {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `the test origin does not serve ${method} ${route}` } }));
  }
}

beforeAll(async () => {
  origin = await startTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      const route = (req.url ?? '').split('?')[0]!.slice(PROJECT.length);
      answer(req.method ?? '', route, body === '' ? {} : JSON.parse(body) as Record<string, unknown>, res);
    });
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-foundry-agents-'));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [{ provider: 'azure', allowed_models: ['gpt4o-prod'] }] }],
  }));
  try {
    edge = await startEdgeProcess({
      dataDir, config: { mode: 'local', policyFile, upstream: { caFile: origin.caPath, originOverrides: { [FOUNDRY]: origin.url } } },
    });
  } catch (err) {
    await origin.close();
    throw err;
  }
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
});

/** The Assistants client pointed at the project, as the Agent Service's REST API takes it (`?api-version=v1`). */
const agents = () => new OpenAI({
  baseURL: `https://${FOUNDRY}${PROJECT}`, apiKey: FOUNDRY_KEY, defaultQuery: { 'api-version': 'v1' },
  fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0,
});

const recordAt = async (route: string, select: (r: AuditRecord) => boolean = () => true) =>
  (await auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.path === `${PROJECT}${route}` && select(r), 1, 10_000)).at(-1)!;

async function refusal(request: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await request.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe('Azure AI Foundry Agent Service in local mode, through the real CLI', () => {
  it('an assistant on a deployment the key does not list is refused before anything leaves', async () => {
    seen.length = 0;
    const error = await refusal(agents().beta.assistants.create({ model: 'gpt4o-experimental', name: 'support', instructions: 'answer politely' }));
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.code).toBe('model_blocked');
    expect(seen).toEqual([]);
    expect(await recordAt('/assistants')).toMatchObject({ provider: 'azure', model: 'gpt4o-experimental', decision: 'blocked', reason: 'model_blocked' });
  });

  it('a run overriding the assistant\'s deployment with one the key does not list is refused before anything leaves', async () => {
    seen.length = 0;
    const error = await refusal(agents().beta.threads.runs.create('thread_1', { assistant_id: 'asst_1', model: 'GPT4O-Experimental' }));
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.code).toBe('model_blocked');
    expect(seen).toEqual([]);
    expect(await recordAt('/threads/thread_1/runs', (r) => r.decision === 'blocked')).toMatchObject({ model: 'GPT4O-Experimental', reason: 'model_blocked' });
  });

  it('a secret in a thread\'s message is blocked by the guardrails, whether the thread is created with it or it is added', async () => {
    seen.length = 0;
    for (const request of [
      agents().beta.threads.create({ messages: [{ role: 'user', content: `deploy with ${GITHUB_TOKEN}` }] }),
      agents().beta.threads.messages.create('thread_1', { role: 'user', content: [{ type: 'text', text: `deploy with ${GITHUB_TOKEN}` }] }),
    ]) {
      const error = await refusal(request);
      expect(error.status).toBe(446);
      expect(error.code).toBe('guardrail_blocked');
    }
    expect(seen).toEqual([]);
    expect(await recordAt('/threads/thread_1/messages')).toMatchObject({ provider: 'azure', decision: 'blocked' });
  });

  it('an assistant, a thread and a run the key allows go through as sent (the deployment in any letter case), and the run is recorded with its usage', async () => {
    seen.length = 0;
    const client = agents();
    const assistant = await client.beta.assistants.create({ model: 'gpt4o-prod', name: 'support', instructions: 'answer politely' });
    expect(assistant.id).toBe('asst_1');
    const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'where is my order?' }] });
    await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'it is order 42' });
    const run = await client.beta.threads.runs.create(thread.id, { assistant_id: assistant.id, model: 'GPT4O-Prod', additional_instructions: 'mention the order' });
    expect(run).toMatchObject({ id: 'run_1', status: 'completed' });
    const polled = await client.beta.threads.runs.retrieve(run.id, { thread_id: thread.id });
    expect(polled.status).toBe('completed');

    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `POST ${PROJECT}/assistants?api-version=v1`,
      `POST ${PROJECT}/threads?api-version=v1`,
      `POST ${PROJECT}/threads/thread_1/messages?api-version=v1`,
      `POST ${PROJECT}/threads/thread_1/runs?api-version=v1`,
      `GET ${PROJECT}/threads/thread_1/runs/run_1?api-version=v1`,
    ]);
    expect(JSON.parse(seen[3]!.body)).toMatchObject({ model: 'GPT4O-Prod', additional_instructions: 'mention the order' });

    expect(await recordAt('/assistants', (r) => r.decision === 'allowed')).toMatchObject({ provider: 'azure', model: 'gpt4o-prod', status: 200 });
    const recorded = await recordAt('/threads/thread_1/runs', (r) => r.decision === 'allowed' && r.usage !== undefined);
    expect(recorded).toMatchObject({
      provider: 'azure', model: 'GPT4O-Prod', status: 200, usage: { input_tokens: RUN_USAGE.prompt_tokens, output_tokens: RUN_USAGE.completion_tokens },
    });
  });

  it('a run naming no model is recorded with the model its answer names (the assistant\'s deployment)', async () => {
    const run = await agents().beta.threads.runs.create('thread_2', { assistant_id: 'asst_1' });
    expect(run).toMatchObject({ status: 'completed', model: 'gpt4o-prod' });
    expect(await recordAt('/threads/thread_2/runs', (r) => r.decision === 'allowed')).toMatchObject({ provider: 'azure', model: 'gpt4o-prod', status: 200 });
  });

  it('the project\'s other routes are still refused with a 404 naming them', async () => {
    seen.length = 0;
    const send = (method: string, route: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '-X', method, `https://${FOUNDRY}${PROJECT}${route}?api-version=v1`,
      '-H', `api-key: ${FOUNDRY_KEY}`, '-H', 'content-type: application/json', ...(method === 'GET' ? [] : ['-d', JSON.stringify({ name: 'x' })])]);
    for (const [method, route] of [['GET', '/connections'], ['POST', '/evaluations/runs:run'], ['POST', '/Threads/runs']] as const) {
      const res = await send(method, route);
      expect(res.status).toBe(404);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unknown_route');
      expect(body.error.message).toContain(`${method} ${PROJECT}${route} on ${FOUNDRY}`);
    }
    expect(seen).toEqual([]);
  });

  it('a run sent under a project name a lenient origin reads as proj1 (`proj1;x`, `proj1.`, `proj1%20`) is refused, not forwarded unread', async () => {
    seen.length = 0;
    const body = JSON.stringify({ assistant_id: 'asst_1', thread: { messages: [{ role: 'user', content: `deploy with ${GITHUB_TOKEN}` }] } });
    for (const project of ['proj1;x', 'proj1.', 'proj1%20', 'proj1%3Bx']) {
      const path = `/api/projects/${project}/threads/Runs`;
      const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '--path-as-is', '-X', 'POST', `https://${FOUNDRY}${path}?api-version=v1`,
        '-H', `api-key: ${FOUNDRY_KEY}`, '-H', 'content-type: application/json', '-d', body]);
      expect(res.status, project).toBe(404);
      const error = (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('unknown_route');
      expect(error.message).toContain(`POST ${path} on ${FOUNDRY}`);
    }
    expect(seen).toEqual([]);
  });
});
