import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * A web-search answer's citations (a page's title and address, shown beside the text) are answer text to the
 * guardrails: an email only a citation's title carries is flagged. Through a real Edge in local mode, before an
 * OpenAI origin that answers every Chat Completion with such a citation, read by the real OpenAI SDK.
 */

const EMAIL = 'jane.doe@acme-corp.com';

let origin: http.Server;
let edge: EdgeProcess;

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-search-preview',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'The team page lists it.', annotations: [
          { type: 'url_citation', url_citation: { start_index: 4, end_index: 13, title: `Team: write to ${EMAIL}`, url: 'https://example.com/team' } },
        ] } }],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      }));
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  edge = await startEdgeProcess({ config: { mode: 'local', upstream: { originOverrides: { 'api.openai.com': originUrl } }, guardrails: { scanResponses: true, actions: { email: 'flag' } } } });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

it('an email in a Chat answer\'s url_citation title is flagged; the answer arrives as sent', async () => {
  const client = new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
  const completion = await client.chat.completions.create({ model: 'gpt-4o-search-preview', messages: [{ role: 'user', content: 'who do I write to?' }] });
  expect(completion.choices[0]?.message.annotations?.[0]?.url_citation.title).toContain(EMAIL);
  const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Array<{ decision: string; findings: Array<{ type: string; location: string; action: string }> }>;
  expect(activity[0]).toMatchObject({ decision: 'flagged', findings: [expect.objectContaining({ type: 'email', location: 'response', action: 'flag' })] });
});
