import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { getEncoding } from 'js-tiktoken';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * Prompts sent as token ids (LangChain's OpenAIEmbeddings does so by default) are read as the text they
 * stand for, with the default policy: secrets block, PII is redacted — which token ids cannot be, so it blocks.
 */

const KEY = 'sk-bf-token-ids-e2e';
// Assembled at run time so the repository never holds a credential-shaped literal.
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
const EMAIL = 'jane.doe@acme-corp.com';
const cl100k = getEncoding('cl100k_base');

let standin: BifrostStandin;
let edge: EdgeProcess;
let client: OpenAI;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY } } });
  client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
});

async function refusal(request: Promise<unknown>): Promise<{ status: number; message: string; raw: string }> {
  const error = await request.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  const apiError = error as InstanceType<typeof OpenAI.APIError>;
  return { status: apiError.status ?? 0, message: apiError.message, raw: JSON.stringify(apiError.error) };
}

describe('token-id prompts through the proxy', () => {
  it('an embedding of token ids hiding a secret is refused 446, naming where; it never reaches the gateway', async () => {
    standin.clear();
    const blocked = await refusal(client.embeddings.create({
      model: 'text-embedding-3-small',
      input: [cl100k.encode('first document'), cl100k.encode(`deploy with ${GITHUB_TOKEN}`)],
    }));
    expect(blocked.status).toBe(446);
    expect(blocked.message).toMatch(/github/i);
    expect(blocked.message).toContain('input[1]');
    expect(blocked.raw).not.toContain(GITHUB_TOKEN);
    expect(standin.received.some((r) => r.path.includes('/embeddings'))).toBe(false);
  });

  it('PII in token ids, which cannot be redacted in place, blocks instead of going out', async () => {
    standin.clear();
    const blocked = await refusal(client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: cl100k.encode(`Write to ${EMAIL} now`) }));
    expect(blocked.status).toBe(446);
    expect(blocked.message).toMatch(/could not be redacted in place/);
    expect(standin.received.some((r) => r.path.includes('/completions'))).toBe(false);
  });

  it('clean token ids go on unchanged', async () => {
    standin.clear();
    const ids = [cl100k.encode('the quarterly report'), cl100k.encode('release notes')];
    await client.embeddings.create({ model: 'text-embedding-3-small', input: ids });
    const seen = await standin.waitForRequest((r) => r.path.includes('/embeddings'));
    expect((seen.json as { input: number[][] }).input).toEqual(ids);
  });
});
