import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { until } from '../support/until.js';

/**
 * When the provider never reports usage (a stream the client stopped, a request it abandoned before any
 * answer), Edge charges its estimate to the key's limits; the audit record says so in `estimated_usage`,
 * apart from `usage`, which stays what the provider reported.
 */

const KEY = 'sk-bf-estimate-e2e-0001';
const PROMPT = 'x'.repeat(4000);

interface AuditRecord { path: string; reason?: string; usage?: { input_tokens: number; output_tokens: number }; estimated_usage?: { input_tokens: number; output_tokens: number; cost_usd?: number } }

function policyFileIn(dir: string): string {
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }],
      rate_limit: { token_max_limit: 1_000_000, token_reset_duration: '1h' },
    }],
  }));
  return file;
}

function chatRequest(edge: EdgeProcess, stream: boolean, signal?: AbortSignal) {
  return undiciFetch('https://api.openai.com/v1/chat/completions', {
    method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), ...(signal ? { signal } : {}),
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: PROMPT }] }),
  });
}

describe('estimated usage in the audit record', () => {
  let standin: BifrostStandin;
  let edge: EdgeProcess;
  let dataDir: string;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }], sseChunks: 20, sseChunkDelayMs: 100 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-estimate-'));
    edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policyFileIn(dataDir) } });
  });

  afterAll(async () => {
    await edge?.stop();
    await standin?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a stream the client stops early: the record carries the estimate it was charged, and no reported usage', async () => {
    const controller = new AbortController();
    const response = await chatRequest(edge, true, controller.signal);
    await response.body!.getReader().read();
    controller.abort();
    const record = (await auditRecordsOnceThere<AuditRecord>(dataDir, (r) => r.path === '/v1/chat/completions' && r.reason === 'client_aborted', 1, 10_000))[0]!;
    expect(record.usage).toBeUndefined();
    expect(record.estimated_usage?.input_tokens).toBeGreaterThanOrEqual(1000);
    expect(record.estimated_usage?.output_tokens).toBeGreaterThan(0);
  });

  it('a completed stream: the record carries the usage the provider reported, no estimate', async () => {
    const response = await chatRequest(edge, true);
    await response.text();
    const record = (await auditRecordsOnceThere<AuditRecord>(dataDir, (r) => r.path === '/v1/chat/completions' && r.reason !== 'client_aborted', 1, 10_000))[0]!;
    expect(record.usage?.input_tokens).toBeGreaterThan(0);
    expect(record.estimated_usage).toBeUndefined();
  });
});

describe('estimated usage of a request abandoned before any answer', () => {
  let silent: http.Server;
  let edge: EdgeProcess;
  let dataDir: string;
  let received = 0;

  beforeAll(async () => {
    // A gateway that reads the request and never answers: the client gives up first.
    silent = http.createServer((req) => {
      req.resume();
      req.on('end', () => { received++; });
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-abandoned-'));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    edge = await startEdgeProcess({ dataDir, config: { gateway: { url }, policyFile: policyFileIn(dataDir) } });
  });

  afterAll(async () => {
    await edge?.stop();
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is charged its prompt, and the record says so', async () => {
    const controller = new AbortController();
    const pending = chatRequest(edge, false, controller.signal).catch(() => undefined);
    expect(await until(() => received > 0)).toBe(true);
    controller.abort();
    await pending;
    const record = (await auditRecordsOnceThere<AuditRecord>(dataDir, (r) => r.path === '/v1/chat/completions', 1, 10_000))[0]!;
    expect(record.reason).toBe('client_aborted');
    expect(record.usage).toBeUndefined();
    expect(record.estimated_usage?.input_tokens).toBeGreaterThanOrEqual(1000);
    expect(record.estimated_usage?.output_tokens).toBe(0);
  });
});
