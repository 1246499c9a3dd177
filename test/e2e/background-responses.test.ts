import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { auditRecordsOf } from '../support/audit-tail.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { until } from '../support/until.js';

/**
 * Through a real Edge: a background Responses request answers `queued` with no usage, and the client polls
 * `GET /v1/responses/{id}` until it is completed. The polls are retrievals, never charged as such; the usage the
 * completed response reports is charged to the request that started it, once, and recorded beside it. A response
 * never polled is charged its worst case after a bound (shortened here through the agent's option), trued up to
 * its usage if it is polled later.
 */

const KEY = 'sk-bf-background-e2e-0001';
const PROMPT = 'z'.repeat(400);

interface Usage { input_tokens: number; output_tokens: number }

/** An origin playing the Responses background lifecycle: each response is in the state the test sets. */
class BackgroundOrigin {
  readonly states = new Map<string, { status: string; usage?: Usage }>();
  readonly received: string[] = [];
  private next = 0;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push(`${req.method} ${req.url}`);
      const created = req.method === 'POST' && /\/responses$/.test(req.url ?? '');
      const polled = /\/responses\/(resp_[a-z0-9]+)/.exec(req.url ?? '')?.[1];
      if (!created && polled === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
        return;
      }
      const id = created ? `resp_bg${++this.next}` : polled!;
      if (created) this.states.set(id, { status: 'queued' });
      const state = this.states.get(id);
      if (!state) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no response ${id}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id, object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status: state.status, output: [],
        usage: state.usage ? { ...state.usage, total_tokens: state.usage.input_tokens + state.usage.output_tokens } : null,
      }));
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Edge { agent: RunningAgent; records: ExchangeRecord[]; dataDir: string }

async function startEdge(origin: string, backgroundTimeoutMs?: number): Promise<Edge> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-e2e-'));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4.1-mini'] }],
      rate_limit: { token_max_limit: 2000, token_reset_duration: '1d' },
    }],
  }));
  const config = loadConfig({ env: {}, overrides: { dataDir, metrics: { port: null }, proxy: { port: 0 }, gateway: { url: origin }, policyFile } });
  const records: ExchangeRecord[] = [];
  const agent = await startAgent(config, { log: silentLogger, onRecord: (record) => records.push(record), ...(backgroundTimeoutMs !== undefined ? { backgroundTimeoutMs } : {}) });
  return { agent, records, dataDir };
}

async function call(edge: Edge, method: 'GET' | 'POST', target: string): Promise<{ status: number; body: { id?: string; status?: string; error?: { type?: string } } }> {
  const response = await undiciFetch(`https://api.openai.com${target}`, {
    method, dispatcher: proxyDispatcher(edge.agent.proxyUrl, fs.readFileSync(edge.agent.caPath, 'utf8')),
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app' },
    ...(method === 'POST' ? { body: JSON.stringify({ model: 'gpt-4.1-mini', background: true, input: PROMPT }) } : {}),
  });
  return { status: response.status, body: await response.json() as { id?: string; status?: string } };
}

/** The records of charges made after their exchange: their usage (or estimate) on a record of the request that started the work. */
const lateCharges = (edge: Edge) => edge.records.filter((r) => r.method === 'POST' && r.path === '/v1/responses' && (r.usage ?? r.estimatedUsage) !== undefined);

describe('background responses through Edge', () => {
  let origin: BackgroundOrigin;
  let originUrl: string;
  const edges: Edge[] = [];

  beforeAll(async () => {
    origin = new BackgroundOrigin();
    originUrl = await origin.listen();
  });

  afterAll(async () => {
    for (const edge of edges) {
      await edge.agent.close();
      fs.rmSync(edge.dataDir, { recursive: true, force: true });
    }
    await origin.close();
  });

  it('queued, polled twice in progress, then completed: charged once, recorded, and the next request over budget is refused', async () => {
    const edge = await startEdge(originUrl);
    edges.push(edge);
    const started = await call(edge, 'POST', '/v1/responses');
    expect(started).toMatchObject({ status: 200, body: { status: 'queued' } });
    const id = started.body.id!;
    origin.states.set(id, { status: 'in_progress' });
    expect((await call(edge, 'GET', `/v1/responses/${id}`)).body.status).toBe('in_progress');
    expect((await call(edge, 'GET', `/v1/responses/${id}`)).body.status).toBe('in_progress');
    origin.states.set(id, { status: 'completed', usage: { input_tokens: 800, output_tokens: 400 } });
    expect((await call(edge, 'GET', `/v1/responses/${id}`)).body.status).toBe('completed');
    expect(await until(() => lateCharges(edge).length > 0, 10_000)).toBe(true);
    // Polled again: no second charge (2,400 tokens would use the key's 2,000 up, and refuse the next request).
    expect((await call(edge, 'GET', `/v1/responses/${id}`)).body.status).toBe('completed');
    const charged = lateCharges(edge);
    expect(charged).toHaveLength(1);
    expect(charged[0]).toMatchObject({ host: 'api.openai.com', provider: 'openai', model: 'gpt-4.1-mini', decision: 'forwarded', usage: { input_tokens: 800, output_tokens: 400 } });
    expect(charged[0]!.estimatedUsage).toBeUndefined();
    // The polls themselves carry no usage.
    expect(edge.records.filter((r) => r.method === 'GET' && (r.usage ?? r.estimatedUsage) !== undefined)).toEqual([]);
    const second = await call(edge, 'POST', '/v1/responses');
    expect(second.status).toBe(200);
    // The second completes with 900 more: 2,100 tokens of the key's 2,000 are used, and the next request is refused
    // by Edge, the origin never sees it.
    origin.states.set(second.body.id!, { status: 'completed', usage: { input_tokens: 850, output_tokens: 50 } });
    expect((await call(edge, 'GET', `/v1/responses/${second.body.id!}`)).body.status).toBe('completed');
    const before = origin.received.length;
    const refused = await call(edge, 'POST', '/v1/responses');
    expect(refused.status).toBe(429);
    expect(origin.received.length).toBe(before);
    // The administrator's audit trail shows both charges, on the requests that started the work.
    expect(await until(() => lateCharges(edge).length === 2, 10_000)).toBe(true);
    const audited = await auditRecordsOf<{ method: string; path: string; usage?: Usage }>(edge.dataDir);
    expect(audited.filter((r) => r.method === 'POST' && r.path === '/v1/responses' && r.usage).map((r) => r.usage))
      .toEqual([{ input_tokens: 800, output_tokens: 400 }, { input_tokens: 850, output_tokens: 50 }]);
  });

  it('a retrieval of a response Edge never saw started is not charged', async () => {
    const edge = await startEdge(originUrl);
    edges.push(edge);
    origin.states.set('resp_elsewhere', { status: 'completed', usage: { input_tokens: 2000, output_tokens: 400 } });
    // Started elsewhere; and one this Edge did start, so it is waiting for something.
    await call(edge, 'POST', '/v1/responses');
    expect((await call(edge, 'GET', '/v1/responses/resp_elsewhere')).body.status).toBe('completed');
    // Not charged: the key's tokens are all there for a request.
    expect((await call(edge, 'POST', '/v1/responses')).status).toBe(200);
    expect(lateCharges(edge)).toEqual([]);
  });

  it('never polled: charged its worst case once the bound has passed', async () => {
    const edge = await startEdge(originUrl, 300);
    edges.push(edge);
    const started = await call(edge, 'POST', '/v1/responses');
    expect(started.body.status).toBe('queued');
    expect(await until(() => lateCharges(edge).length > 0, 10_000)).toBe(true);
    // The prompt at four characters a token, and the longest answer it could have had (it set no max_output_tokens).
    expect(lateCharges(edge)[0]).toMatchObject({ estimatedUsage: { input_tokens: 100, output_tokens: 32768 } });
    expect(lateCharges(edge)[0]!.usage).toBeUndefined();
    // Completed later and polled: the estimate is trued up to the usage, recorded beside it, once.
    origin.states.set(started.body.id!, { status: 'completed', usage: { input_tokens: 800, output_tokens: 400 } });
    expect((await call(edge, 'GET', `/v1/responses/${started.body.id!}`)).body.status).toBe('completed');
    expect(await until(() => lateCharges(edge).length > 1, 10_000)).toBe(true);
    // Marked as a true-up of the estimate, so whoever sums records does not count the work twice.
    expect(lateCharges(edge)[1]).toMatchObject({
      usage: { input_tokens: 800, output_tokens: 400 },
      errorType: 'background_true_up',
      message: expect.stringMatching(new RegExp(`^true-up of ${started.body.id!}: 32,868 tokens .* charged before as an estimate; difference -31,668 tokens`)),
    });
    expect((await call(edge, 'GET', `/v1/responses/${started.body.id!}`)).body.status).toBe('completed');
    expect(lateCharges(edge)).toHaveLength(2);
  });
});
