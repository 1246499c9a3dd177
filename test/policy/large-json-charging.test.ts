import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../src/agent.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { startLocalAgentBeforeOrigin, stopAgentAndOrigin, tokensUsed } from '../support/local-agent-before-origin.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { largeChatCompletion, REPORTED_USAGE } from './large-json-answers.js';

/**
 * A JSON answer over 8 MiB (Edge's bound for parsing one whole) was relayed and never charged: a long completion with
 * logprobs spent the key's token budget without counting. A real agent (local mode) relays a 20 MiB chat completion
 * from an origin on 127.0.0.1 that answers as OpenAI does, to a client that trusts Edge's CA over HTTPS_PROXY.
 */

const ANSWER_BYTES = 20 * 1024 * 1024;

describe('a 20 MiB JSON answer is charged its usage', () => {
  let origin: http.Server;
  let agent: RunningAgent;
  let caPem: string;
  const records: ExchangeRecord[] = [];

  beforeAll(async () => {
    // The scenario is the prompt: `gzip` compresses the answer, `decoys` gives every logprobs entry a usage of its own.
    origin = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        const scenario = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]!.content;
        const gzip = scenario.includes('gzip');
        res.writeHead(200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        const steps: Array<Readable | Transform | http.ServerResponse> = [Readable.from(largeChatCompletion(ANSWER_BYTES, scenario.includes('decoys'))), ...(gzip ? [zlib.createGzip()] : []), res];
        void pipeline(steps).catch(() => res.destroy());
      });
    });
    agent = await startLocalAgentBeforeOrigin(origin, {
      dataDirPrefix: 'edge-large-json-', keyValue: 'sk-bf-large-json-0001', tokenLimit: 100_000_000, onRecord: (record) => records.push(record),
    });
    caPem = fs.readFileSync(agent.caPath, 'utf8');
  });

  afterAll(() => stopAgentAndOrigin(agent, origin));

  it.each([
    ['as it came', 'plain'],
    ['compressed', 'gzip'],
    ['compressed, every item carrying a "usage" of its own with far larger counts before the answer\'s', 'gzip decoys'],
    ['as it came, with the decoys', 'plain decoys'],
  ])('%s', async (_name, scenario) => {
    const before = await tokensUsed(agent);
    const recorded = records.length;
    const response = await undiciFetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      dispatcher: proxyDispatcher(agent.proxyUrl, caPem),
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ model: 'gpt-4o', logprobs: true, top_logprobs: 1, messages: [{ role: 'user', content: scenario }] }),
    });
    expect(response.status).toBe(200);
    // The client gets the whole answer (decompressed by its fetch), its usage last.
    const text = await response.text();
    expect(text.length).toBeGreaterThan(ANSWER_BYTES);
    expect(text.endsWith('"system_fingerprint":"fp_large"}')).toBe(true);
    const deadline = Date.now() + 10_000;
    while (records.length === recorded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(records.at(-1)).toMatchObject({ path: '/v1/chat/completions', model: 'gpt-4o', usage: { input_tokens: REPORTED_USAGE.prompt_tokens, output_tokens: REPORTED_USAGE.completion_tokens } });
    expect((await tokensUsed(agent)) - before).toBe(REPORTED_USAGE.total_tokens);
  });
});
