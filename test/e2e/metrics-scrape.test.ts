import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';
import { closedPort } from '../support/ports.js';

/** Real requests through the real CLI, then a scrape of its /metrics: the counts say what happened. */

/** Built from parts so secret scanners do not flag this file. */
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
let provider: http.Server;
let edge: EdgeProcess;
let metricsUrl: string;

beforeAll(async () => {
  provider = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","choices":[]}'));
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const metricsPort = await closedPort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  edge = await startEdgeProcess({
    config: {
      metrics: { port: metricsPort },
      upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${(provider.address() as AddressInfo).port}` } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  provider?.closeAllConnections();
  provider?.close();
});

const chat = (content: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
  '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] })]);

describe('metrics of requests through the proxy', () => {
  it('an allowed request counts as decision="allowed", a blocked one as "blocked", none as "other"', async () => {
    expect((await chat('hello')).status).toBe(200);
    // A secret in the prompt: the default guardrails block it.
    expect((await chat(`my token is ${GITHUB_TOKEN}`)).status).toBe(446);
    const text = await (await fetch(metricsUrl)).text();
    const requests = text.split('\n').filter((line) => line.startsWith('bifrost_edge_requests_total{'));
    expect(requests).toContainEqual(expect.stringMatching(/provider="openai",model="gpt-4o",decision="allowed",app="curl"\} 1$/));
    expect(requests).toContainEqual(expect.stringMatching(/decision="blocked".*\} 1$/));
    expect(requests.filter((line) => line.includes('decision="other"'))).toEqual([]);
  });
});
