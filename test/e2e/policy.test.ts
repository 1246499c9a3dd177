import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { EDGE_BIN, startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { closeOf, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { auditRecordsOf } from '../support/audit-tail.js';

const KEY = 'sk-bf-policy-e2e-0001';

function policyFile(dir: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1',
    version: 1,
    issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini', 'o3-mini'] }],
      rate_limit: { request_max_limit: 3, request_reset_duration: '1h' },
    }],
    ...overrides,
  }));
  return file;
}

function openai(edge: EdgeProcess): OpenAI {
  return new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
}

/** A gateway stand-in and an agent under the test policy (policyFile), stopped when `run` ends. */
async function withPolicyAgent(prefix: string, standinOptions: Parameters<typeof startBifrostStandin>[0], run: (env: { edge: EdgeProcess; standin: BifrostStandin; dataDir: string }) => Promise<void>, policy: Record<string, unknown> = {}): Promise<void> {
  const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }], ...standinOptions });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policyFile(dataDir, policy) } });
    try {
      await run({ edge, standin, dataDir });
    } finally {
      await edge.stop();
    }
  } finally {
    await standin.close();
  }
}

const ask = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('virtual-key policy enforced on the device, through the proxy', () => {
  let standin: BifrostStandin;
  let dataDir: string;
  let edge: EdgeProcess;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-'));
    edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policyFile(dataDir) } });
  });
  afterAll(async () => {
    await edge?.stop();
    await standin?.close();
  });

  it('a model the key does not allow: the OpenAI SDK raises PermissionDeniedError with an actionable message', async () => {
    standin.clear();
    const error = await ask(openai(edge), 'gpt-4o').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect((e.error as { type: string }).type).toBe('model_blocked');
    expect(e.message).toMatch(/eng-team/);
    expect(e.message).toMatch(/gpt-4o-mini/);
    expect(standin.received).toHaveLength(0);
  });

  it('a provider the key has no config for: the Anthropic SDK raises its PermissionDeniedError (provider_blocked)', async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const error = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(((error as InstanceType<typeof Anthropic.PermissionDeniedError>).error as { error: { type: string } }).error.type).toBe('provider_blocked');
  });

  it('an allowed model goes to the gateway with the key from the policy; the request limit holds across a restart', async () => {
    standin.clear();
    const client = openai(edge);
    // Limit 3 per hour; the blocked requests above were not counted.
    for (let i = 0; i < 3; i++) await ask(client, 'gpt-4o-mini');
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
    expect(seen.headers['x-bf-vk']).toBe(KEY);
    const limited = await ask(client, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);

    await edge.stop();
    edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: path.join(dataDir, 'policy.json') } });
    const afterRestart = await ask(openai(edge), 'gpt-4o-mini').catch((e: unknown) => e);
    expect(afterRestart).toBeInstanceOf(OpenAI.RateLimitError);
    expect((afterRestart as InstanceType<typeof OpenAI.RateLimitError>).message).toMatch(/request/i);
  });

  it('bifrost-edge status shows the user, key, policy version and the last blocks', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [EDGE_BIN, 'status', '--json', '--data-dir', dataDir], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
    });
    const status = JSON.parse(out) as { policy: { activeKey: { name: string }; policy: { version: number }; lastBlocks: Array<{ type?: string; errorType?: string }> } };
    expect(status.policy.activeKey.name).toBe('eng-team');
    expect(status.policy.policy.version).toBe(1);
    expect(JSON.stringify(status.policy.lastBlocks)).toMatch(/rate_limited|request_limited/);
    const text = await new Promise<string>((resolve) => execFile(process.execPath, [EDGE_BIN, 'status', '--data-dir', dataDir], (_e, stdout) => resolve(stdout)));
    expect(text).toMatch(/eng-team/);
  });
});

describe('routes without a body to read', () => {
  it('routes Edge forwards without reading (model lists) still get the policy: its key, and its verdict', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-uninspected-'));
    const edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policyFile(dataDir) } });
    try {
    // The key comes only from the policy file: the configuration has none.
    const models = await openai(edge).models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/models');
    expect(seen.headers['x-bf-vk']).toBe(KEY);
    // Anthropic has no provider config in the key: even its model list is refused on the device.
    const refused = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.anthropic.com/v1/models']);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.type).toBe('provider_blocked');
    } finally {
      await edge.stop();
      await standin.close();
    }
  });

});

describe('app governance by executable', () => {
  it('a program the catalog denies is refused whatever User-Agent it sends', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-process-'));
    const edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policyFile(dataDir, {
      apps: { catalog: [{ id: 'curl-cli', name: 'curl', status: 'denied', match: { processes: ['curl'] } }] },
    }) } });
    try {
      const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '-A', 'NotCurl/1.0', 'https://api.openai.com/v1/chat/completions',
        '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })]);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).type).toBe('app_blocked');
      // The same request from another program goes through.
      expect((await ask(openai(edge), 'gpt-4o-mini')).choices[0]?.message.content).toBeTruthy();
    } finally {
      await edge.stop();
      await standin.close();
    }
  });
});

describe('tunnel-time policy', () => {
  it('records AI hosts the device reaches without Edge decrypting them (shadow AI) and refuses denied apps at CONNECT', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-policy-connect-'));
    const edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, interceptHosts: ['api.openai.com'], policyFile: policyFile(dataDir, {
      apps: { catalog: [{ id: 'legacy-bot', name: 'Legacy bot', status: 'denied', match: { user_agents: ['^LegacyBot/'] } }] },
    }) } });
    try {
      // Not on the intercept list here, so tunnelled (and unreachable offline), but seen.
      await curl(['-x', edge.proxyUrl, 'https://api.anthropic.com/v1/models']);
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [EDGE_BIN, 'status', '--json', '--data-dir', dataDir], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
      });
      const status = JSON.parse(out) as { policy: { shadowAi: Array<{ name: string }> } };
      expect(status.policy.shadowAi.map((e) => e.name)).toContain('api.anthropic.com');

      // A denied app on a host Edge only tunnels is refused at CONNECT: there is no decrypted request to answer.
      const denied = await curl(['-x', edge.proxyUrl, '-A', 'LegacyBot/2.1', 'https://api.anthropic.com/v1/models']);
      expect(denied.exitCode).not.toBe(0);
      expect(denied.stderr).toMatch(/CONNECT tunnel failed, response 403/);
      // On a decrypted host the same app gets the refusal as an API error it can show.
      const deniedInFormat = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '-A', 'LegacyBot/2.1', 'https://api.openai.com/v1/models']);
      expect(deniedInFormat.status).toBe(403);
      expect(JSON.parse(deniedInFormat.body)).toMatchObject({ error: { type: 'app_blocked' } });

      // Both refusals are in the audit trail; the tunnel one says it happened at CONNECT.
      const records = await auditRecordsOf<{ method?: string; host: string; app: string; decision: string; reason?: string }>(dataDir);
      expect(records).toEqual(expect.arrayContaining([
        expect.objectContaining({ method: 'CONNECT', host: 'api.anthropic.com', app: 'legacybot', decision: 'blocked', reason: 'app_blocked' }),
        expect.objectContaining({ method: 'GET', host: 'api.openai.com', app: 'legacybot', decision: 'blocked', reason: 'app_blocked' }),
      ]));
    } finally {
      await edge.stop();
      await standin.close();
    }
  });
});

describe('fail-closed: refuses AI traffic while the gateway is down, recovers when it returns', () => {
  it('blocks with 503 gateway_unreachable, then forwards again', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const port = standin.port;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-failclosed-'));
    const edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url, healthProbeIntervalMs: 200 }, policyFile: policyFile(dataDir, { fail_mode: 'closed', virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }] }) } });
    let restarted: BifrostStandin | undefined;
    try {
      const client = openai(edge);
      expect((await ask(client, 'gpt-4o')).choices[0]?.message.content).toBeTruthy();
      await standin.close();
      const first = await ask(client, 'gpt-4o').catch((e: unknown) => e);
      expect((first as { status?: number }).status).toBe(502);
      const refused = await ask(client, 'gpt-4o').catch((e: unknown) => e);
      expect((refused as { status?: number }).status).toBe(503);
      expect(((refused as InstanceType<typeof OpenAI.APIError>).error as { type: string }).type).toBe('gateway_unreachable');

      restarted = await startBifrostStandin({ port, virtualKeys: [{ value: KEY }] });
      const deadline = Date.now() + 10_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        recovered = await ask(client, 'gpt-4o').then(() => true, () => false);
      }
      expect(recovered).toBe(true);
    } finally {
      await edge.stop();
      await restarted?.close();
    }
  });
});

describe('metering compressed answers', () => {
  it('a gzipped answer is charged and its usage is in the audit record (decoding ends after the answer does)', async () => {
    // The gateway gzips for clients that offer it; the OpenAI SDK always offers.
    await withPolicyAgent('edge-policy-gzip-', { gzipJson: true }, async ({ edge, dataDir }) => {
      const completion = await ask(openai(edge), 'gpt-4o-mini');
      expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
      const records = await auditRecordsOf<{ path?: string; usage?: { input_tokens: number; output_tokens: number } }>(dataDir);
      const chat = records.find((r) => r.path === '/v1/chat/completions');
      expect(chat?.usage).toEqual({ input_tokens: completion.usage!.prompt_tokens, output_tokens: completion.usage!.completion_tokens });
    });
  });
});

describe('requests in flight count against token limits', () => {
  it('a burst of streams is admitted only as far as their prompts fit; a request refused by a later step gives its share back', async () => {
    const tokenLimited = {
      virtual_keys: [{
        id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
        provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }],
        rate_limit: { token_max_limit: 1_000, token_reset_duration: '1h' },
      }],
    };
    // Streams last ~0.9 s: every request of the burst is decided before any answer is charged.
    await withPolicyAgent('edge-policy-inflight-', { sseChunks: 4, sseChunkDelayMs: 300 }, async ({ edge, standin }) => {
      const client = openai(edge);
      const prompt = 'z'.repeat(2_200); // ~550 tokens by Edge's estimate: once two are held, 1,000 is reached
      // Policy admits this one, then the guardrails refuse it (a secret): its hold must not outlive it.
      await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${prompt} ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo` }] }))
        .rejects.toMatchObject({ status: 446 });
      const streamOnce = async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] });
        for await (const chunk of stream) void chunk;
      };
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => streamOnce()));
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(refused.map((r) => (r.reason as { status?: number }).status)).toEqual([429, 429]);
      expect(String((refused[0]!.reason as Error).message)).toMatch(/1,000 tokens per hour \(\d[\d,]* used, [\d,]+ of it held by requests still being answered\)/);
      expect(standin.received.filter((r) => r.path === '/openai/v1/chat/completions')).toHaveLength(2);
    }, tokenLimited);
  });
});

describe('metering streamed chat completions', () => {
  it('a stream the client did not ask usage for is still charged, and the client sees the stream it asked for', async () => {
    await withPolicyAgent('edge-policy-stream-', { sseChunks: 4 }, async ({ edge, standin, dataDir }) => {
      const stream = await openai(edge).chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count to four' }] });
      const chunks: Array<{ choices: unknown[]; usage?: unknown }> = [];
      for await (const chunk of stream) chunks.push(chunk as { choices: unknown[]; usage?: unknown });
      expect(chunks.length).toBeGreaterThan(2);
      // No usage-only chunk reached a client that did not ask for one.
      expect(chunks.filter((c) => c.choices.length === 0)).toEqual([]);
      const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
      expect((seen.json as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
      const records = await auditRecordsOf<{ path?: string; usage?: { input_tokens: number; output_tokens: number } }>(dataDir);
      const chat = records.find((r) => r.path === '/v1/chat/completions');
      expect(chat?.usage?.output_tokens).toBeGreaterThan(0);
    });
  });
});

describe('WebSockets on an intercepted host', () => {
  it('are decided like requests: a model the key does not allow is refused with the close reason, and recorded', async () => {
    await withPolicyAgent('edge-policy-ws-', {}, async ({ edge }) => {
      const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview');
      const closed = await closeOf(ws);
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/gpt-4o-realtime-preview/);
      const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ path: string; decision: string; errorType?: string }>;
      expect(activity.find((a) => a.path === '/v1/realtime')).toMatchObject({ decision: 'blocked', errorType: 'model_blocked' });
    });
  });
});

describe('routes whose body Edge does not inspect still name their model', () => {
  it('creating an assistant with a model the key does not allow is refused (it was allowed: no model was read)', async () => {
    await withPolicyAgent('edge-policy-assistants-', {}, async ({ edge }) => {
      const refused = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/assistants',
        '-H', 'content-type: application/json', '-H', 'authorization: Bearer sk-proj-app', '--data', JSON.stringify({ model: 'gpt-4o', name: 'helper' })]);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ type: 'model_blocked' });
      expect(refused.body).toMatch(/gpt-4o/);
    });
  });
});
