import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditAck } from '../../src/control/protocol/audit.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { OtlpLogsSink } from '../../src/audit/otlp-sink.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import type { AuditSinkAck, AuditSinkError } from '../../src/audit/sink.js';
import { createLogger } from '../../src/log.js';
import { sampleRecord, tempDbPath } from './support/records.js';
import { until } from '../support/until.js';

/**
 * What a 2xx answer must be before audit records count as exported: an ExportLogsServiceResponse
 * (OTLP/HTTP answers a JSON request in JSON). A 200 from a web UI or captive portal took nothing; a
 * partial success took the batch without some records, which are final and must be reported.
 */

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

interface Collector {
  url: string;
  /** Export requests received, whatever was answered. */
  requests: number;
  close(): Promise<void>;
}

/** Answers `answers` in turn, one per request, then 200 `{}` (what the OTel Collector answers). */
async function startCollector(answers: Answer[]): Promise<Collector> {
  const queue = [...answers];
  const state = { requests: 0 };
  const server = http.createServer(async (req, res) => {
    for await (const chunk of req) void chunk;
    state.requests += 1;
    const answer = queue.shift() ?? { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
    res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() { return state.requests; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function shipThrough(collector: Collector, records: number) {
  const outbox = new AuditOutbox({ path: tempDbPath(), destinations: ['otlp'] });
  cleanups.push(() => outbox.close());
  for (let i = 1; i <= records; i++) outbox.append(sampleRecord(i));
  await outbox.flush();
  const lines: string[] = [];
  const log = createLogger('info', (line) => lines.push(line));
  const shipper = new AuditShipper({ outbox, sink: new OtlpLogsSink({ endpoint: collector.url, log }), backoff: { baseMs: 10, maxMs: 20 }, log });
  cleanups.push(() => shipper.stop());
  const failures: AuditSinkError[] = [];
  const acks: AuditSinkAck[] = [];
  shipper.on('ship_failed', (error) => failures.push(error as AuditSinkError));
  shipper.on('shipped', (_batch, ack: AuditAck) => acks.push(ack));
  shipper.start();
  const drained = await until(() => outbox.depth('otlp') === 0);
  return { drained, failures, acks, lines };
}

const html = { 'content-type': 'text/html; charset=utf-8' };
const json = { 'content-type': 'application/json' };

describe('a 2xx answer from the OTLP endpoint', () => {
  it.each([
    { name: 'a web page (text/html)', answer: { status: 200, headers: html, body: '<!doctype html><html><body>Grafana</body></html>' }, says: /HTTP 200 with text\/html \("<!doctype html><html><body>Grafana.*not an OTLP ExportLogsServiceResponse.*audit\.otlpEndpoint/ },
    { name: 'JSON that does not parse', answer: { status: 200, headers: json, body: 'OK' }, says: /HTTP 200 with a body that is not JSON \("OK"\)/ },
    { name: 'JSON that is not an object', answer: { status: 200, headers: json, body: '["ok"]' }, says: /HTTP 200 with JSON that is not an object/ },
  ])('does not count as exported when it is $name: the batch is sent again', async ({ answer, says }) => {
    const collector = await startCollector([answer, answer]);
    cleanups.push(() => collector.close());

    const { drained, failures, acks } = await shipThrough(collector, 10);

    expect(drained).toBe(true);
    expect(failures.map((f) => f.status)).toEqual([200, 200]);
    expect(failures[0]!.message).toMatch(says);
    expect(failures[0]!.message).toMatch(/10 audit logs wait in the outbox/);
    expect(collector.requests).toBe(3);
    expect(acks).toHaveLength(1);
  });

  it.each([
    { name: '200 {} (the OTel Collector)', answer: { status: 200, headers: json, body: '{}' } },
    { name: '200 with an empty partialSuccess and a charset', answer: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"partialSuccess":{}}' } },
    { name: '204 with no body (Loki, Grafana Cloud)', answer: { status: 204 } },
    { name: '200 with an empty body', answer: { status: 200, headers: json } },
    { name: '200 {} without a content type', answer: { status: 200, body: '{}' } },
  ])('counts as exported when it is $name, silently', async ({ answer }) => {
    const collector = await startCollector([answer]);
    cleanups.push(() => collector.close());

    const { drained, failures, acks, lines } = await shipThrough(collector, 10);

    expect(drained).toBe(true);
    expect(failures).toEqual([]);
    expect(collector.requests).toBe(1);
    expect(acks[0]).toMatchObject({ stored: 10 });
    expect(acks[0]!.rejected).toBeUndefined();
    expect(lines.filter((line) => /WARN|ERROR/.test(line))).toEqual([]);
  });

  it('reports a partial success — how many the collector rejected and why — and does not resend them', async () => {
    const collector = await startCollector([{ status: 200, headers: json, body: JSON.stringify({ partialSuccess: { rejectedLogRecords: '10', errorMessage: 'quota exceeded' } }) }]);
    cleanups.push(() => collector.close());

    const { drained, failures, acks, lines } = await shipThrough(collector, 10);

    expect(drained).toBe(true);
    expect(failures).toEqual([]);
    expect(collector.requests).toBe(1);
    expect(acks).toEqual([expect.objectContaining({ stored: 0, rejected: { records: 10, message: 'quota exceeded' } })]);
    const errors = lines.filter((line) => /ERROR/.test(line));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/rejected 10 of 10 audit logs \(seq 1-10\): "quota exceeded"/);
    expect(errors[0]).toMatch(/not sent again/);
  });

  it('passes on a warning the collector gives with a full success (rejected 0, a message)', async () => {
    const collector = await startCollector([{ status: 200, headers: json, body: '{"partialSuccess":{"rejectedLogRecords":0,"errorMessage":"attribute values truncated to 4096 bytes"}}' }]);
    cleanups.push(() => collector.close());

    const { drained, acks, lines } = await shipThrough(collector, 3);

    expect(drained).toBe(true);
    expect(acks[0]).toMatchObject({ stored: 3 });
    expect(acks[0]!.rejected).toBeUndefined();
    const warnings = lines.filter((line) => /WARN/.test(line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/took all 3 audit logs .*with a warning: "attribute values truncated to 4096 bytes"/);
  });
});
