import { afterEach, describe, expect, it } from 'vitest';
import { answersInTurn, startOtlpCollector } from './support/otlp-collector.js';
import { shipToOtlp } from './support/otlp-shipping.js';

/**
 * What a 2xx answer must be before audit records count as exported: an ExportLogsServiceResponse
 * (OTLP/HTTP answers a JSON request in JSON). A 200 from a web UI or captive portal took nothing; a
 * partial success took the batch without some records, which are final and must be reported.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const html = { 'content-type': 'text/html; charset=utf-8' };
const json = { 'content-type': 'application/json' };

describe('a 2xx answer from the OTLP endpoint', () => {
  it.each([
    { name: 'a web page (text/html)', answer: { status: 200, headers: html, body: '<!doctype html><html><body>Grafana</body></html>' }, says: /HTTP 200 with text\/html \("<!doctype html><html><body>Grafana.*not an OTLP ExportLogsServiceResponse.*audit\.otlpEndpoint/ },
    { name: 'JSON that does not parse', answer: { status: 200, headers: json, body: 'OK' }, says: /HTTP 200 with a body that is not JSON \("OK"\)/ },
    { name: 'JSON that is not an object', answer: { status: 200, headers: json, body: '["ok"]' }, says: /HTTP 200 with JSON that is not an object/ },
  ])('does not count as exported when it is $name: the batch is sent again', async ({ answer, says }) => {
    const collector = await startOtlpCollector(answersInTurn([answer, answer]));
    cleanups.push(() => collector.close());

    const { drained, failures, acks } = await shipToOtlp(collector.url, 10, cleanups);

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
    const collector = await startOtlpCollector(answersInTurn([answer]));
    cleanups.push(() => collector.close());

    const { drained, failures, acks, lines } = await shipToOtlp(collector.url, 10, cleanups);

    expect(drained).toBe(true);
    expect(failures).toEqual([]);
    expect(collector.requests).toBe(1);
    expect(acks[0]).toMatchObject({ stored: 10 });
    expect(acks[0]!.rejected).toBeUndefined();
    expect(lines.filter((line) => /WARN|ERROR/.test(line))).toEqual([]);
  });

  it('reports a partial success — how many the collector rejected and why — and does not resend them', async () => {
    const collector = await startOtlpCollector(answersInTurn([{ status: 200, headers: json, body: JSON.stringify({ partialSuccess: { rejectedLogRecords: '10', errorMessage: 'quota exceeded' } }) }]));
    cleanups.push(() => collector.close());

    const { drained, failures, acks, lines } = await shipToOtlp(collector.url, 10, cleanups);

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
    const collector = await startOtlpCollector(answersInTurn([{ status: 200, headers: json, body: '{"partialSuccess":{"rejectedLogRecords":0,"errorMessage":"attribute values truncated to 4096 bytes"}}' }]));
    cleanups.push(() => collector.close());

    const { drained, acks, lines } = await shipToOtlp(collector.url, 3, cleanups);

    expect(drained).toBe(true);
    expect(acks[0]).toMatchObject({ stored: 3 });
    expect(acks[0]!.rejected).toBeUndefined();
    const warnings = lines.filter((line) => /WARN/.test(line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/took all 3 audit logs .*with a warning: "attribute values truncated to 4096 bytes"/);
  });
});
