import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startEdgeBeforeTestOrigin } from '../support/edge-before-openai-origin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * Azure OpenAI through the real CLI in local mode: the official `openai` package's AzureOpenAI client (deployments
 * path, `api-key` header) and its OpenAI client on Azure's v1 API, against a TLS origin standing in for the
 * customer's resource host. Edge reads what they send (the model, the prompt, streamed or not), refuses what the guardrails refuse in the error shape the SDK reads, refuses routes it does not know,
 * and forwards the rest to the resource unchanged, the app's key included.
 */

const RESOURCE = 'contoso.openai.azure.com';
const AZURE_KEY = 'azure-resource-key-0123456789abcdef';
const API_VERSION = '2024-10-21';
/** A GitHub token the default guardrails block (446); built from parts so secret scanners pass this file. */
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }
interface AuditRecord { path: string; provider?: string; model?: string | null; decision: string; status?: number }

const seen: Seen[] = [];
let edge: EdgeProcess;
let stop: (() => Promise<void>) | undefined;

/** The last user message's text, echoed back as the answer. */
function userText(body: Record<string, unknown>): string {
  const messages = body['messages'] as Array<{ role: string; content: string }> | undefined;
  if (messages) return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  return typeof body['input'] === 'string' ? body['input'] : '';
}

/** Answers as Azure does: a content-filter chunk first when streaming, usage in the last chunk when asked for. */
function answer(req: http.IncomingMessage, body: Record<string, unknown>, res: http.ServerResponse): void {
  const path = (req.url ?? '').split('?')[0]!;
  const text = `echo: ${userText(body)}`;
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  if (path.endsWith('/embeddings')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', model: 'text-embedding-3-large', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 5, total_tokens: 5 } }));
  } else if (path.endsWith('/responses')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body['model'],
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }],
      usage: { input_tokens: 13, output_tokens: 5, total_tokens: 18 },
    }));
  } else if (body['stream'] === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-11-20', choices: [{ index: 0, delta, finish_reason: finish }] });
    const events = [
      { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] },
      chunk({ role: 'assistant', content: '' }, null),
      ...text.split(' ').map((word, i) => chunk({ content: i === 0 ? word : ` ${word}` }, null)),
      chunk({}, 'stop'),
      ...((body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true ? [{ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-11-20', choices: [], usage }] : []),
    ];
    res.end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-2024-11-20',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }], usage,
    }));
  }
}

beforeAll(async () => {
  ({ edge, stop } = await startEdgeBeforeTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, body === '' ? {} : JSON.parse(body) as Record<string, unknown>, res);
    });
  }, { hosts: [RESOURCE] }));
});

afterAll(async () => {
  await stop?.();
});

const viaEdge = () => ({ fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
const azure = () => new AzureOpenAI({ endpoint: `https://${RESOURCE}`, apiKey: AZURE_KEY, apiVersion: API_VERSION, ...viaEdge() });
/** Azure's v1 API takes the OpenAI client as it is, pointed at the resource. */
const v1 = () => new OpenAI({ baseURL: `https://${RESOURCE}/openai/v1/`, apiKey: AZURE_KEY, ...viaEdge() });

const recordAt = async (path: string) => (await auditRecordsOnceThere<AuditRecord>(edge.dataDir, (r) => r.path.startsWith(path), 1, 10_000)).at(-1)!;

describe('Azure OpenAI in local mode, through the real CLI', () => {
  it('AzureOpenAI chat on the deployments path: read (the deployment is the model), answered, api-key kept', async () => {
    seen.length = 0;
    const completion = await azure().chat.completions.create({ model: 'gpt4o-prod', messages: [{ role: 'user', content: 'hello azure' }] });
    expect(completion.choices[0]?.message.content).toBe('echo: hello azure');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: `/openai/deployments/gpt4o-prod/chat/completions?api-version=${API_VERSION}` });
    expect(seen[0]!.headers['api-key']).toBe(AZURE_KEY);
    expect(Object.keys(seen[0]!.headers).filter((h) => h.startsWith('x-bf-'))).toEqual([]);
    const record = await recordAt('/openai/deployments/gpt4o-prod/chat/completions');
    expect(record).toMatchObject({ provider: 'azure', model: 'gpt4o-prod', decision: 'allowed', status: 200 });
  });

  it('a streamed chat is read and relayed as a stream', async () => {
    const stream = await azure().chat.completions.create({
      model: 'gpt4o-stream', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me please' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: stream me please');
    const record = await recordAt('/openai/deployments/gpt4o-stream/chat/completions');
    expect(record).toMatchObject({ provider: 'azure', model: 'gpt4o-stream', decision: 'allowed', status: 200 });
  });

  it('embeddings and the Responses API are read too', async () => {
    const embedding = await azure().embeddings.create({ model: 'embed-large', input: 'hello embeddings', encoding_format: 'float' });
    expect(embedding.data[0]?.embedding).toEqual([0.1, 0.2]);
    expect(await recordAt('/openai/deployments/embed-large/embeddings')).toMatchObject({ provider: 'azure', model: 'embed-large' });

    const response = await azure().responses.create({ model: 'gpt-5-mini', input: 'hello responses' });
    expect(response.output_text).toBe('echo: hello responses');
    expect(seen.at(-1)!.url).toBe(`/openai/responses?api-version=${API_VERSION}`);
    expect(await recordAt('/openai/responses')).toMatchObject({ provider: 'azure', model: 'gpt-5-mini' });
  });

  it('the v1 API: the model is the body\'s, the app\'s Authorization goes to the resource unchanged', async () => {
    seen.length = 0;
    const completion = await v1().chat.completions.create({ model: 'gpt4o-v1', messages: [{ role: 'user', content: 'hello v1' }] });
    expect(completion.choices[0]?.message.content).toBe('echo: hello v1');
    expect(seen[0]).toMatchObject({ url: '/openai/v1/chat/completions' });
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${AZURE_KEY}`);
    expect(await recordAt('/openai/v1/chat/completions')).toMatchObject({ provider: 'azure', model: 'gpt4o-v1' });
  });

  it('a prompt the guardrails block never reaches the resource: the SDK raises the error it reads, {error: {code, message}}', async () => {
    seen.length = 0;
    for (const client of [azure(), v1()]) {
      for (const stream of [false, true]) {
        const error = await client.chat.completions.create({ model: 'gpt4o-prod', stream, messages: [{ role: 'user', content: `deploy with ${GITHUB_TOKEN}` }] })
          .then(() => undefined, (err: unknown) => err);
        expect(error).toBeInstanceOf(OpenAI.APIError);
        const apiError = error as InstanceType<typeof OpenAI.APIError>;
        expect(apiError.status).toBe(446);
        expect(apiError.code).toBe('guardrail_blocked');
        expect(apiError.message).toMatch(/GitHub/i);
      }
    }
    expect(seen).toEqual([]);
    expect(await recordAt('/openai/deployments/gpt4o-prod/chat/completions')).toMatchObject({ provider: 'azure', decision: 'blocked' });
  });

  it('routes Edge does not know, under /openai or elsewhere on the resource host, are refused with a 404 naming them', async () => {
    seen.length = 0;
    const post = (path: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, `https://${RESOURCE}${path}`,
      '-H', `api-key: ${AZURE_KEY}`, '-H', 'content-type: application/json', '-d', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })]);
    for (const path of ['/openai/deployments/gpt4o-prod/undocumented?api-version=2024-10-21', '/openai/undocumented', '/v1/chat/completions']) {
      const res = await post(path);
      expect(res.status).toBe(404);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unknown_route');
      expect(body.error.message).toContain(`POST ${path.split('?')[0]} on ${RESOURCE}`);
      expect(body.error.message).toContain('Azure OpenAI');
    }
    expect(seen).toEqual([]);
  });
});
