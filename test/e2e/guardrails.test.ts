import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

const KEY = 'sk-bf-guardrails-e2e';
// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';

let standin: BifrostStandin;
let edge: EdgeProcess;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY } } });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
});

describe('guardrails through the proxy (default policy: secrets block, PII redacted)', () => {
  it('OpenAI shape: an email is redacted in place and the request goes on', async () => {
    standin.clear();
    const client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: `Write to ${EMAIL} about the invoice.` }] });
    expect(completion.choices[0]?.message.content).toContain('[REDACTED:email]');
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
    expect(seen.body).not.toContain(EMAIL);
    const sent = seen.json as { messages: Array<{ content: string }> };
    expect(sent.messages[1]!.content).toBe('Write to [REDACTED:email] about the invoice.');
    expect(sent.messages[0]!.content).toBe('be terse');
  });

  it('Anthropic shape: a secret is blocked with 446 in Anthropic format, never echoed, never forwarded', async () => {
    standin.clear();
    const client = new Anthropic({ apiKey: 'sk-ant-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const error = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: `deploy with token ${GITHUB_TOKEN} please` }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(446);
    const body = apiError.error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('guardrail_blocked');
    expect(body.error.message).toMatch(/github/i);
    expect(body.error.message).toContain('messages[0].content');
    expect(JSON.stringify(body)).not.toContain(GITHUB_TOKEN);
    expect(standin.received.some((r) => r.path.startsWith('/anthropic/'))).toBe(false);
  });

  it('Gemini shape: PII in parts is redacted; a secret in a function response is blocked', async () => {
    standin.clear();
    const url = 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent';
    const ok = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, url, '-H', 'content-type: application/json', '-H', 'x-goog-api-key: AIza-app',
      '-d', JSON.stringify({ contents: [{ role: 'user', parts: [{ text: `email ${EMAIL} now` }] }] })]);
    expect(ok.status).toBe(200);
    const seen = await standin.waitForRequest((r) => r.path.startsWith('/genai/'));
    expect((seen.json as { contents: Array<{ parts: Array<{ text: string }> }> }).contents[0]!.parts[0]!.text).toBe('email [REDACTED:email] now');

    const blocked = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, url, '-H', 'content-type: application/json',
      '-d', JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'here' }] }, { role: 'function', parts: [{ functionResponse: { name: 'env', response: { GITHUB_TOKEN } } }] }] })]);
    expect(blocked.status).toBe(446);
    const body = JSON.parse(blocked.body) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(446);
    expect(blocked.body).not.toContain(GITHUB_TOKEN);
  });

  it('bifrost-edge scan finds the same things offline', async () => {
    const { execFileSync } = await import('node:child_process');
    const { EDGE_BIN } = await import('../support/edge-process.js');
    const out = execFileSync(process.execPath, [EDGE_BIN, 'scan', '--json'], { input: `token ${GITHUB_TOKEN} mail ${EMAIL}` }).toString();
    const parsed = JSON.parse(out) as { findings: Array<{ type: string }>; redactedText: string };
    expect(parsed.findings.map((f) => f.type).sort()).toEqual(['email', 'secret']);
    expect(parsed.redactedText).not.toContain(GITHUB_TOKEN);
  });
});

describe('content safety delegated to the gateway moderation model', () => {
  let standin: BifrostStandin;
  let edge: EdgeProcess;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY }, guardrails: { contentSafety: { model: 'omni-moderation-latest', threshold: 0.5 } } } });
  });
  afterAll(async () => {
    await edge?.stop();
    await standin?.close();
  });

  const chat = (content: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
    '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })]);

  it('a flagged prompt is blocked with 446 before it reaches the model; a clean one goes on', async () => {
    standin.clear();
    const blocked = await chat('tell me something UNSAFE');
    expect(blocked.status).toBe(446);
    const body = JSON.parse(blocked.body) as { type: string; error: { message: string } };
    expect(body.type).toBe('content_safety_blocked');
    expect(body.error.message).toMatch(/flagged this request as violence \(score 0\.97, limit 0\.5\)/);
    const moderation = await standin.waitForRequest((r) => r.path === '/openai/v1/moderations');
    expect(moderation.headers['x-bf-vk']).toBe(KEY);
    expect((moderation.json as { model: string; input: string[] })).toEqual({ model: 'omni-moderation-latest', input: ['tell me something UNSAFE'] });
    expect(standin.received.some((r) => r.path === '/openai/v1/chat/completions')).toBe(false);

    expect((await chat('a harmless question')).status).toBe(200);
  });

  it('a moderation route that fails follows the fail mode (open by default: forwarded, flagged)', async () => {
    standin.failNext(500, { error: 'moderation down' }, { path: '/openai/v1/moderations' });
    expect((await chat('question while moderation is down')).status).toBe(200);
    const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ decision: string; findings: Array<{ type: string; ruleId: string }> }>;
    expect(activity[0]).toMatchObject({ decision: 'flagged', findings: [{ type: 'content_safety', ruleId: 'unavailable' }] });
  });
});

describe('guardrails on answers (scanResponses: flag only)', () => {
  it('a secret or PII in a streamed answer is found across token events and flagged; the answer still arrives', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }], sseChunks: 8 });
    const edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY }, guardrails: { scanResponses: true, actions: { email: 'flag' } } } });
    try {
      const client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `please reply to ${EMAIL} today` }] });
      let text = '';
      let events = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        events++;
      }
      expect(events).toBeGreaterThan(5);
      expect(text).toContain(EMAIL);
      const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ decision: string; findings: Array<{ type: string; location: string; action: string }> }>;
      expect(activity[0]!.decision).toBe('flagged');
      expect(activity[0]!.findings).toContainEqual(expect.objectContaining({ type: 'email', location: 'response', action: 'flag' }));
    } finally {
      await edge.stop();
      await standin.close();
    }
  });

  it('a gzipped answer is decoded on the side and scanned; the client gets the gzipped bytes as the server sent them', async () => {
    // Providers compress whenever the client offers, and the official SDKs (and curl --compressed) always offer.
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }], gzipJson: true });
    const edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY }, guardrails: { scanResponses: true, actions: { email: 'flag' } } } });
    const headersFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-gzip-')), 'headers.txt');
    try {
      const client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `please reply to ${EMAIL} today` }] });
      expect(completion.choices[0]?.message.content).toContain(EMAIL);

      const viaCurl = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '--compressed', '-D', headersFile, 'https://api.openai.com/v1/chat/completions',
        '-H', 'content-type: application/json', '-H', 'authorization: Bearer sk-proj-app', '--data', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `mail ${EMAIL} again` }] })]);
      expect(viaCurl.status).toBe(200);
      expect(fs.readFileSync(headersFile, 'utf8')).toMatch(/^content-encoding: gzip\r?$/im);
      expect(viaCurl.body).toContain(EMAIL);

      const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ decision: string; findings: Array<{ type: string; location: string; action: string }> }>;
      expect(activity.slice(0, 2).map((a) => a.decision)).toEqual(['flagged', 'flagged']);
      for (const exchange of activity.slice(0, 2)) {
        expect(exchange.findings).toContainEqual(expect.objectContaining({ type: 'email', location: 'response', action: 'flag' }));
      }
    } finally {
      await edge.stop();
      await standin.close();
    }
  });
});

describe('routes that carry prompts besides chat (pass-through mode: the stand-in echoes what reaches it)', () => {
  let standin: BifrostStandin;
  let edge: EdgeProcess;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    edge = await startEdgeProcess({ config: { mode: 'passthrough', gateway: { url: standin.url, virtualKey: KEY } } });
  });
  afterAll(async () => {
    await edge?.stop();
    await standin?.close();
  });

  const openai = () => new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });

  /** The SDK's APIError for a refused call, checked to be a guardrail block that does not echo the secret. */
  async function expectGuardrailBlock(call: Promise<unknown>): Promise<void> {
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(446);
    expect(JSON.stringify(apiError.error)).not.toContain(GITHUB_TOKEN);
  }

  it('OpenAI Conversations: an item with a secret is refused 446 and never forwarded; PII is redacted in place; clean items go on', async () => {
    standin.clear();
    const client = openai();
    await expectGuardrailBlock(client.conversations.items.create('conv_123', { items: [{ type: 'message', role: 'user', content: `deploy with ${GITHUB_TOKEN}` }] }));
    expect(standin.received.some((r) => r.path.includes('/conversations'))).toBe(false);

    await client.conversations.create({ items: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: `write to ${EMAIL}` }] }] });
    const created = await standin.waitForRequest((r) => r.path === '/openai_passthrough/v1/conversations');
    expect(created.body).not.toContain(EMAIL);
    expect(created.json).toEqual({ items: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'write to [REDACTED:email]' }] }] });

    await client.conversations.items.create('conv_123', { items: [{ type: 'message', role: 'user', content: 'hello again' }] });
    const added = await standin.waitForRequest((r) => r.path === '/openai_passthrough/v1/conversations/conv_123/items');
    expect(added.json).toEqual({ items: [{ type: 'message', role: 'user', content: 'hello again' }] });
  });

  it('OpenAI images and speech: a secret in the prompt or the text to speak is refused 446; clean ones go on', async () => {
    standin.clear();
    const client = openai();
    await expectGuardrailBlock(client.images.generate({ model: 'gpt-image-1', prompt: `a poster showing the token ${GITHUB_TOKEN}` }));
    await expectGuardrailBlock(client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Read this aloud.', instructions: `mention ${GITHUB_TOKEN}` }));
    expect(standin.received.some((r) => r.path.includes('/images/') || r.path.includes('/audio/'))).toBe(false);

    await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk' });
    const image = await standin.waitForRequest((r) => r.path === '/openai_passthrough/v1/images/generations');
    expect(image.json).toEqual({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk' });
    await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'coral', input: `Call ${EMAIL} back.` });
    const speech = await standin.waitForRequest((r) => r.path === '/openai_passthrough/v1/audio/speech');
    expect(speech.json).toEqual({ model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Call [REDACTED:email] back.' });
  });

  it('Anthropic message batches: a secret in any request is refused 446; mixed models are refused 400; a clean batch goes on', async () => {
    standin.clear();
    const client = new Anthropic({ apiKey: 'sk-ant-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const request = (id: string, content: string, model = 'claude-haiku-4-5') => ({ custom_id: id, params: { model, max_tokens: 32, messages: [{ role: 'user' as const, content }] } });

    const blocked = await client.messages.batches.create({ requests: [request('a', 'hello'), request('b', `deploy with ${GITHUB_TOKEN}`)] }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(Anthropic.APIError);
    const blockedError = blocked as InstanceType<typeof Anthropic.APIError>;
    expect(blockedError.status).toBe(446);
    expect(JSON.stringify(blockedError.error)).toContain('requests[1].params.messages[0].content');
    expect(JSON.stringify(blockedError.error)).not.toContain(GITHUB_TOKEN);

    const mixed = await client.messages.batches.create({ requests: [request('a', 'hello'), request('b', 'hi', 'claude-sonnet-4-5')] }).catch((e: unknown) => e);
    expect(mixed).toBeInstanceOf(Anthropic.BadRequestError);
    expect((mixed as InstanceType<typeof Anthropic.BadRequestError>).message).toMatch(/one model per batch.*split the batch/);
    expect(standin.received.some((r) => r.path.includes('/messages/batches'))).toBe(false);

    await client.messages.batches.create({ requests: [request('a', 'hello'), request('b', 'summarise the release notes')] });
    const seen = await standin.waitForRequest((r) => r.path === '/anthropic_passthrough/v1/messages/batches');
    expect((seen.json as { requests: unknown[] }).requests).toHaveLength(2);
  });

  it('Gemini cachedContents: a secret in the cached contents is refused 446 in Google format; a clean cache goes on', async () => {
    standin.clear();
    const create = (text: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://generativelanguage.googleapis.com/v1beta/cachedContents',
      '-H', 'content-type: application/json', '-H', 'x-goog-api-key: AIza-app',
      '-d', JSON.stringify({ model: 'models/gemini-2.5-flash', contents: [{ role: 'user', parts: [{ text }] }], ttl: '300s' })]);
    const blocked = await create(`the deploy token is ${GITHUB_TOKEN}`);
    expect(blocked.status).toBe(446);
    expect((JSON.parse(blocked.body) as { error: { code: number; message: string } }).error).toMatchObject({ code: 446, message: expect.stringContaining('contents[0].parts[0].text') as unknown });
    expect(blocked.body).not.toContain(GITHUB_TOKEN);
    expect(standin.received.some((r) => r.path.includes('cachedContents'))).toBe(false);

    expect((await create('a long shared preamble')).status).toBe(200);
    const seen = await standin.waitForRequest((r) => r.path === '/genai_passthrough/v1beta/cachedContents');
    expect((seen.json as { contents: Array<{ parts: Array<{ text: string }> }> }).contents[0]!.parts[0]!.text).toBe('a long shared preamble');
  });
});
