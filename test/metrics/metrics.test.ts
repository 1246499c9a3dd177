import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { LabelLimiter } from '../../src/metrics/label-limiter.js';
import { startMetricsServer, MetricsServerAddressError, type MetricsServer } from '../../src/metrics/metrics-server.js';
import { createEdgeMetrics } from '../../src/metrics/metrics.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(...args: Parameters<typeof startMetricsServer>): Promise<MetricsServer> {
  const server = await startMetricsServer(...args);
  cleanups.push(() => server.close());
  return server;
}

/** A raw GET so the test controls the Host header. */
function get(url: string, options: { method?: string; host?: string } = {}): Promise<{ status: number; contentType?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Edge metrics endpoint', () => {
  it('serves requests, durations, findings, audit queue depth, policy version, upstream errors and process metrics', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-metrics-'));
    const outbox = new AuditOutbox({ path: path.join(dir, 'audit.db') });
    cleanups.push(() => outbox.close());
    for (let i = 0; i < 3; i++) {
      await outbox.appendDurable({ request_id: `r${i}`, ts: new Date().toISOString(), device_id: 'd', app: 'curl', host: 'api.openai.com', decision: 'allowed', latency_ms: 1 });
    }

    const metrics = createEdgeMetrics();
    metrics.observeAuditQueue(outbox);
    metrics.recordRequest({ provider: 'openai', model: 'gpt-4o', decision: 'allowed', app: 'curl', durationSeconds: 0.3 });
    metrics.recordRequest({ provider: 'openai', model: 'gpt-4o', decision: 'allowed', app: 'curl', durationSeconds: 1.7 });
    metrics.recordRequest({ provider: 'anthropic', model: 'claude-sonnet-4', decision: 'blocked', app: 'cursor' });
    metrics.recordGuardrailFinding({ type: 'aws_access_key', action: 'redact' });
    metrics.recordUpstreamError({ provider: 'openai', reason: 'timeout' });
    metrics.setPolicyVersion(42);

    const server = await serve({ metrics, host: '127.0.0.1', port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await get(server.url);
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).toContain('bifrost_edge_requests_total{provider="openai",model="gpt-4o",decision="allowed",app="curl"} 2');
    expect(text).toContain('bifrost_edge_requests_total{provider="anthropic",model="claude-sonnet-4",decision="blocked",app="cursor"} 1');
    expect(text).toContain('bifrost_edge_request_duration_seconds_bucket{le="0.5",provider="openai",decision="allowed"} 1');
    expect(text).toContain('bifrost_edge_request_duration_seconds_count{provider="openai",decision="allowed"} 2');
    expect(text).toContain('bifrost_edge_guardrail_findings_total{type="aws_access_key",action="redact"} 1');
    expect(text).toContain('bifrost_edge_upstream_errors_total{provider="openai",reason="timeout"} 1');
    expect(text).toContain('bifrost_edge_policy_version 42');
    expect(text).toContain('bifrost_edge_audit_queue_depth 3');
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);

    // The gauge is read at scrape time: shipping shows up without anyone pushing a value.
    outbox.markSent(2);
    expect((await get(server.url)).body).toContain('bifrost_edge_audit_queue_depth 1');

    // Its own registry: nothing leaks into prom-client's global one, and two instances coexist.
    expect(await globalRegistry.metrics()).not.toContain('bifrost_edge_');
    expect(() => createEdgeMetrics({ defaultMetrics: false })).not.toThrow();
  });

  it('answers only GET/HEAD /metrics and only to loopback Host names', async () => {
    const server = await serve({ metrics: createEdgeMetrics({ defaultMetrics: false }) });
    const base = server.url.replace('/metrics', '');
    expect((await get(`${base}/`)).status).toBe(404);
    expect((await get(server.url, { method: 'POST' })).status).toBe(405);
    expect((await get(server.url, { method: 'HEAD' })).status).toBe(200);
    expect((await get(server.url, { host: `localhost:${server.port}` })).status).toBe(200);
    // A page on evil.example whose DNS was rebound to 127.0.0.1 still sends its own Host.
    expect((await get(server.url, { host: 'evil.example' })).status).toBe(421);
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', 'example.com'])('refuses to listen on %s', async (host) => {
    await expect(startMetricsServer({ metrics: createEdgeMetrics({ defaultMetrics: false }), host })).rejects.toBeInstanceOf(MetricsServerAddressError);
    await expect(startMetricsServer({ metrics: createEdgeMetrics({ defaultMetrics: false }), host })).rejects.toThrow(/not a loopback address; use 127\.0\.0\.1/);
  });

  it('bounds label cardinality: unknown models past the limit become "other", long values are cut', async () => {
    const metrics = createEdgeMetrics({ defaultMetrics: false, maxModels: 3 });
    for (const model of ['m1', 'm2', 'm3', 'm4', 'm5', 'm1']) metrics.recordRequest({ provider: 'openai', model, decision: 'allowed', app: 'curl' });
    metrics.recordRequest({ provider: 'openai', model: 'm2', decision: 'definitely-not-a-decision', app: 'x'.repeat(500) });
    metrics.recordRequest({ provider: undefined, model: null, decision: 'failed', app: '' });
    metrics.recordGuardrailFinding({ type: 'pii_email', action: 'explode' });
    const text = await metrics.render();
    expect(text).toContain('model="m1",decision="allowed",app="curl"} 2');
    expect(text).toContain('model="other",decision="allowed",app="curl"} 2');
    expect(text).not.toContain('model="m4"');
    expect(text).toContain(`decision="other",app="${'x'.repeat(64)}"} 1`);
    expect(text).toContain('provider="unknown",model="unknown",decision="failed",app="unknown"} 1');
    expect(text).toContain('bifrost_edge_guardrail_findings_total{type="pii_email",action="other"} 1');
  });
});

describe('LabelLimiter', () => {
  it('keeps the first values, folds the rest, strips control characters', () => {
    const limiter = new LabelLimiter({ maxValues: 2, maxLength: 5 });
    expect(['a', 'b', 'c', 'a', 'abcdefgh', '  ', 'x\ny'].map((v) => limiter.value(v))).toEqual(['a', 'b', 'other', 'a', 'other', 'unknown', 'other']);
    const allowList = new LabelLimiter({ maxValues: 2, allowed: ['block', 'redact'] });
    expect(['block', 'nope'].map((v) => allowList.value(v))).toEqual(['block', 'other']);
  });

  it('answers a value the same way every time, also past the answers it remembers', () => {
    const limiter = new LabelLimiter({ maxValues: 3, maxLength: 5 });
    const first = ['gpt-4o', 'a\u0007b', 'claude', 'c', 'late'].map((v) => limiter.value(v));
    expect(first).toEqual(['gpt-4', 'ab', 'claud', 'other', 'other']);
    // Thousands of distinct raw values (more than are remembered), then the first ones again.
    for (let i = 0; i < 3000; i++) expect(limiter.value(`v${i}`)).toBe('other');
    expect(['gpt-4o', 'a\u0007b', 'claude', 'c', 'late', 'gpt-4', 'v2999'].map((v) => limiter.value(v))).toEqual(['gpt-4', 'ab', 'claud', 'other', 'other', 'gpt-4', 'other']);
  });
});
