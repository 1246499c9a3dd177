import { afterEach, describe, expect, it } from 'vitest';
import { answersInTurn, startOtlpCollector } from './support/otlp-collector.js';
import { shipToOtlp } from './support/otlp-shipping.js';

/**
 * An OTLP collector that is misconfigured for a while (a redirect to https, an API key that expired,
 * a proxy asking for its own credentials) and then fixed. Nothing it answered in the meantime was
 * about the records themselves, so every one of them must still arrive once it is fixed.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const all = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('an OTLP collector answering something that is not about the records', () => {
  it.each([
    { status: 308, headers: { location: 'https://collector.example/v1/logs' }, says: /redirects to https:\/\/collector\.example\/v1\/logs .*set audit\.otlpEndpoint to https:\/\/collector\.example\/v1\/logs/ },
    { status: 301, headers: { location: '/otlp/v1/logs' }, says: /redirects to http:\/\/127\.0\.0\.1:\d+\/otlp\/v1\/logs/ },
    { status: 302, headers: {}, says: /redirect\) without saying where/ },
    { status: 401, headers: { 'content-type': 'application/json' }, body: '{"code":16,"message":"unauthenticated"}', says: /credentials \(HTTP 401\).*"unauthenticated".*expired or rotated/ },
    { status: 403, headers: {}, body: 'forbidden by allow-list', says: /refused access \(HTTP 403\).*forbidden by allow-list.*permission/ },
    { status: 407, headers: { 'proxy-authenticate': 'Basic' }, says: /proxy between Edge and the OTLP collector .*proxy authentication \(HTTP 407\)/ },
    { status: 408, headers: {}, says: /gave up waiting for the request \(HTTP 408\)/ },
    { status: 404, headers: {}, body: '404 page not found', says: /HTTP 404.*404 page not found.*check that audit\.otlpEndpoint names the collector's OTLP\/HTTP receiver/ },
  ])('keeps every record through HTTP $status and says what to change', async ({ status, headers, body, says }) => {
    const refusal = { status, headers, body };
    const collector = await startOtlpCollector(answersInTurn([refusal, refusal]));
    cleanups.push(() => collector.close());

    const { drained, failures, dropped, lines } = await shipToOtlp(collector.url, 10, cleanups);

    expect(drained).toBe(true);
    expect(dropped).toEqual([]);
    expect(collector.seqs).toEqual(all(10));
    expect(failures.map((f) => f.status)).toEqual([status, status]);
    expect(failures[0]!.message).toMatch(says);
    expect(failures[0]!.message).toMatch(/10 audit logs wait in the outbox/);
    // The shipper's log line carries the same words, so IT sees them without a debugger.
    const logged = lines.filter((line) => line.includes('audit upload failed; will retry')).map((line) => (JSON.parse(line.slice(line.indexOf('{'))) as { error: string }).error);
    expect(logged.filter((error) => says.test(error))).toHaveLength(2);
  });

  it('follows no redirect: the host a 3xx names gets nothing', async () => {
    const target = await startOtlpCollector();
    cleanups.push(() => target.close());
    const redirecting = await startOtlpCollector(answersInTurn(Array.from({ length: 3 }, () => ({ status: 307, headers: { location: `${target.url}/v1/logs` } }))));
    cleanups.push(() => redirecting.close());

    const { failures } = await shipToOtlp(redirecting.url, 3, cleanups);

    expect(failures.slice(0, 3).map((f) => f.status)).toEqual([307, 307, 307]);
    expect(target.requests).toBe(0);
    expect(redirecting.seqs).toEqual(all(3));
  });

  it('still skips a batch the collector calls malformed (400): that answer is final for that body', async () => {
    const collector = await startOtlpCollector(answersInTurn([{ status: 400, headers: { 'content-type': 'application/json' }, body: '{"code":3,"message":"invalid log record"}' }]));
    cleanups.push(() => collector.close());

    const { drained, dropped, lines } = await shipToOtlp(collector.url, 4, cleanups);

    expect(drained).toBe(true);
    expect(dropped).toEqual(['1-4']);
    expect(collector.seqs).toEqual([]);
    expect(lines.some((line) => /ERROR/.test(line) && line.includes('invalid log record'))).toBe(true);
  });
});
