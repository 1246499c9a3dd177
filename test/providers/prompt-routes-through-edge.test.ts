import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';

/**
 * OpenAI-shaped routes that carry a prompt, sent through a real Edge process to a real origin: a GitHub token
 * in the prompt must be found (446, the default secrets guardrail) and never reach the origin. Routes Edge
 * cannot read must be refused, not forwarded unread; routes with no prompt still pass.
 */

const SECRET = 'ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo';
const prompt = `deploy with ${SECRET}`;

let origin: TestOrigin;
let edge: EdgeProcess;
const seenAtOrigin: Array<{ method: string; url: string; body: string }> = [];

beforeAll(async () => {
  origin = await startTestOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seenAtOrigin.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  const overrides = Object.fromEntries(['api.openai.com', 'api.mistral.ai', 'api.githubcopilot.com'].map((host) => [host, origin.url]));
  edge = await startEdgeProcess({ config: { mode: 'local', upstream: { originOverrides: overrides, caFile: origin.caPath } } });
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
});

async function send(method: string, url: string, body: unknown, headers: string[] = ['content-type: application/json']) {
  seenAtOrigin.length = 0;
  const args = ['-x', edge.proxyUrl, '--cacert', edge.caPath, '-X', method, url, ...headers.flatMap((h) => ['-H', h])];
  if (body !== undefined) args.push('--data-binary', typeof body === 'string' ? body : JSON.stringify(body));
  const res = await curl(args);
  return { status: res.status, body: res.body, originSawSecret: seenAtOrigin.some((r) => r.body.includes(SECRET)), originReached: seenAtOrigin.length > 0 };
}

describe('the Responses API: every POST that carries a prompt is read, others are refused', () => {
  it.each([
    ['compact', '/v1/responses/compact', { model: 'gpt-5-codex', input: prompt }],
    ['compact, the secret in the instructions', '/v1/responses/compact', { model: 'gpt-5-codex', instructions: prompt, input: [{ role: 'user', content: 'hi' }] }],
  ])('POST %s: the secret is found and stays on the laptop', async (_name, path, body) => {
    const res = await send('POST', `https://api.openai.com${path}`, body);
    expect(res.status).toBe(446);
    expect(res.originSawSecret).toBe(false);
  });

  it.each([
    ['an undocumented sub-route', '/v1/responses/resp_1/summarize'],
    ['an id that is no operation', '/v1/responses/resp_1'],
  ])('POST %s is refused in OpenAI\'s error format, not forwarded unread', async (_name, path) => {
    const res = await send('POST', `https://api.openai.com${path}`, { model: 'gpt-5', input: prompt });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'unknown_route' } });
    expect(res.originReached).toBe(false);
  });

  it.each([
    ['GET', '/v1/responses/resp_1'],
    ['DELETE', '/v1/responses/resp_1'],
    ['GET', '/v1/responses/resp_1/input_items'],
    ['POST', '/v1/responses/resp_1/cancel'],
  ])('%s %s carries no prompt and still passes', async (method, path) => {
    const res = await send(method, `https://api.openai.com${path}`, undefined);
    expect(res.status).toBe(200);
    expect(res.originReached).toBe(true);
  });
});

describe('Conversations APIs: Mistral\'s shape on api.mistral.ai, OpenAI\'s on api.openai.com', () => {
  const mistral = 'https://api.mistral.ai';
  it.each([
    ['start, inputs a string', '/v1/conversations', { model: 'mistral-medium-latest', inputs: prompt }],
    ['start, the secret in the instructions', '/v1/conversations', { model: 'mistral-medium-latest', instructions: prompt, inputs: 'hi' }],
    ['start with an agent, message entries', '/v1/conversations', { agent_id: 'ag_1', inputs: [{ type: 'message.input', role: 'user', content: [{ type: 'text', text: prompt }] }] }],
    ['append', '/v1/conversations/conv_1', { inputs: [{ role: 'user', content: prompt }] }],
    ['append a function result', '/v1/conversations/conv_1', { inputs: [{ type: 'function.result', tool_call_id: 'call_1', result: prompt }] }],
    ['restart', '/v1/conversations/conv_1/restart', { inputs: prompt, from_entry_id: 'msg_1' }],
  ])('Mistral %s: the secret is found and stays on the laptop', async (_name, path, body) => {
    const res = await send('POST', `${mistral}${path}`, body);
    expect(res.status).toBe(446);
    expect(res.originSawSecret).toBe(false);
  });

  it.each([
    ['Mistral', `${mistral}/v1/conversations/conv_1/branch`],
    ['OpenAI', 'https://api.openai.com/v1/conversations/conv_1/summarize'],
  ])('%s: an undocumented POST under conversations/ is refused, not forwarded unread', async (_name, url) => {
    const res = await send('POST', url, { inputs: prompt, items: [{ role: 'user', content: prompt }] });
    expect(res.status).toBe(404);
    expect(res.originReached).toBe(false);
  });

  it.each([
    ['GET', `${mistral}/v1/conversations/conv_1/history`, undefined],
    ['DELETE', `${mistral}/v1/conversations/conv_1`, undefined],
    ['POST', 'https://api.openai.com/v1/conversations/conv_1', { metadata: { topic: 'billing' } }],
  ])('%s %s carries no prompt and still passes', async (method, url, body) => {
    const res = await send(method, url, body);
    expect(res.status).toBe(200);
    expect(res.originReached).toBe(true);
  });
});

describe('the other OpenAI JSON routes that carry prompt text', () => {
  const openai = 'https://api.openai.com';
  it.each([
    ['Assistants: create an assistant', '/v1/assistants', { model: 'gpt-4o', instructions: prompt }],
    ['Assistants: update an assistant\'s description', '/v1/assistants/asst_1', { description: prompt }],
    ['Assistants: create a thread', '/v1/threads', { messages: [{ role: 'user', content: prompt }] }],
    ['Assistants: add a message', '/v1/threads/thread_1/messages', { role: 'user', content: [{ type: 'text', text: prompt }] }],
    ['Assistants: create a thread and run it', '/v1/threads/runs', { assistant_id: 'asst_1', thread: { messages: [{ role: 'user', content: prompt }] } }],
    ['Assistants: a run\'s additional instructions', '/v1/threads/thread_1/runs', { assistant_id: 'asst_1', additional_instructions: prompt }],
    ['Assistants: a run\'s additional messages', '/v1/threads/thread_1/runs', { assistant_id: 'asst_1', additional_messages: [{ role: 'user', content: prompt }] }],
    ['Assistants: tool outputs', '/v1/threads/thread_1/runs/run_1/submit_tool_outputs', { tool_outputs: [{ tool_call_id: 'call_1', output: prompt }] }],
    ['Sora: create a video', '/v1/videos', { model: 'sora-2', prompt }],
    ['Sora: remix a video', '/v1/videos/video_1/remix', { prompt }],
    ['Realtime: a client secret\'s session instructions', '/v1/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime', instructions: prompt } }],
    ['Realtime: a beta session\'s instructions', '/v1/realtime/sessions', { model: 'gpt-4o-realtime-preview', instructions: prompt }],
    ['Realtime: accepting a call', '/v1/realtime/calls/rtc_1/accept', { type: 'realtime', model: 'gpt-realtime', instructions: prompt }],
    ['Vector stores: a search query', '/v1/vector_stores/vs_1/search', { query: prompt }],
  ])('POST %s: the secret is found and stays on the laptop', async (_name, path, body) => {
    const res = await send('POST', `${openai}${path}`, body);
    expect(res.status).toBe(446);
    expect(res.originSawSecret).toBe(false);
  });

  it.each([
    '/v1/threads/thread_1/summarize',
    '/v1/assistants/asst_1/clone',
    '/v1/vector_stores/vs_1/ask',
    '/v1/realtime/translations',
    '/v1/videos/video_1/describe',
  ])('POST %s, an undocumented route under a root that carries prompts, is refused', async (path) => {
    const res = await send('POST', `${openai}${path}`, { prompt, query: prompt, instructions: prompt });
    expect(res.status).toBe(404);
    expect(res.originReached).toBe(false);
  });

  it.each([
    ['POST', '/v1/threads/thread_1/runs/run_1/cancel', undefined],
    ['POST', '/v1/vector_stores/vs_1/files', { file_id: 'file-1' }],
    ['GET', '/v1/threads/thread_1/messages', undefined],
    ['GET', '/v1/videos/video_1/content', undefined],
  ])('%s %s carries no prompt and still passes', async (method, path, body) => {
    const res = await send(method, `${openai}${path}`, body);
    expect(res.status).toBe(200);
    expect(res.originReached).toBe(true);
  });

  it('a video created from an uploaded reference (multipart) is forwarded as it is, like image edits', async () => {
    seenAtOrigin.length = 0;
    const multipart = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, `${openai}/v1/videos`, '-F', 'model=sora-2', '-F', 'prompt=a cat on a skateboard']);
    expect(multipart.status).toBe(200);
    expect(seenAtOrigin[0]?.body).toContain('a cat on a skateboard');
  });
});

describe('a route read on POST, sent with another method that carries a body', () => {
  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] };
  it.each([
    ['PUT', 'https://api.openai.com/v1/chat/completions', chat],
    ['PATCH', 'https://api.openai.com/v1/responses', { model: 'gpt-4o', input: prompt }],
    ['PATCH', 'https://api.mistral.ai/v1/conversations/conv_1', { inputs: prompt }],
    // Copilot lets routes it does not know pass; a prompt route with the wrong method is still refused.
    ['PUT', 'https://api.githubcopilot.com/chat/completions', chat],
  ])('%s %s is refused in OpenAI\'s error format, not forwarded unread', async (method, url, body) => {
    const res = await send(method, url, body);
    expect(res.status).toBe(405);
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'method_not_allowed', message: expect.stringContaining(`${method} `) } });
    expect(res.originReached).toBe(false);
  });

  it('PUT on a stored response is no documented route either: refused on an API host', async () => {
    const res = await send('PUT', 'https://api.openai.com/v1/responses/resp_1', { model: 'gpt-4o', input: prompt });
    expect(res.status).toBe(404);
    expect(res.originReached).toBe(false);
  });

  it.each([
    ['GET', '/v1/chat/completions'],
    ['DELETE', '/v1/chat/completions/chatcmpl_1'],
    ['HEAD', '/v1/chat/completions'],
    ['OPTIONS', '/v1/responses'],
  ])('%s %s reads nothing a model sees and still passes', async (method, path) => {
    const res = await send(method, `https://api.openai.com${path}`, undefined, method === 'HEAD' ? ['-I'] : []);
    expect(res.status).toBe(200);
    expect(res.originReached).toBe(true);
  });
});
