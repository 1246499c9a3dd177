import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../src/agent.js';
import { startLocalAgentBeforeOrigin, stopAgentAndOrigin, tokensUsed } from '../support/local-agent-before-origin.js';

/**
 * OpenAI streams report their usage only in their last event, and only when asked. A streamed legacy
 * completion was never asked (so never charged), and a chat stream the client stopped before its last
 * event was charged nothing, though the provider billed the prompt. A real agent (local mode) in front
 * of an origin on 127.0.0.1 that answers as OpenAI does.
 */

interface OriginRequest {
  path: string;
  json: Record<string, unknown>;
}

const PROMPT_CHARS = 40_000; // ~10,000 tokens by Edge's estimate

describe('streams charged to the key\'s token limit', () => {
  let origin: http.Server;
  let agent: RunningAgent;
  const seen: OriginRequest[] = [];
  /** Answers of streams the origin keeps open (the client is to stop them). */
  const open: http.ServerResponse[] = [];

  beforeAll(async () => {
    origin = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        const json = JSON.parse(body) as Record<string, unknown>;
        seen.push({ path: req.url ?? '', json });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (req.url === '/v1/completions') {
          res.write(`data: ${JSON.stringify({ object: 'text_completion', choices: [{ index: 0, text: 'Hello there' }] })}\n\n`);
          const includeUsage = (json['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
          if (includeUsage) res.write(`data: ${JSON.stringify({ object: 'text_completion', choices: [], usage: { prompt_tokens: 1_200, completion_tokens: 34, total_tokens: 1_234 } })}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        // A long non-streamed answer still being generated: nothing is sent until it is done.
        if (json['stream'] !== true) {
          open.push(res);
          return;
        }
        // A chat stream still being generated: its usage event would come last.
        res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Thinking about it' } }] })}\n\n`);
        open.push(res);
      });
    });
    agent = await startLocalAgentBeforeOrigin(origin, { dataDirPrefix: 'edge-unreported-usage-', keyValue: 'sk-bf-unreported-0001', tokenLimit: 1_000_000 });
  });

  afterAll(() => stopAgentAndOrigin(agent, origin));

  /**
   * A POST through the proxy as an HTTP-proxied client sends it; `stopAfterFirstChunk` is the IDE's stop
   * button, `giveUpOnceSent` a client that times out before any answer.
   */
  const post = (urlPath: string, payload: unknown, stopAfterFirstChunk = false, giveUpOnceSent = false) => new Promise<string>((resolve, reject) => {
    const proxy = new URL(agent.proxyUrl);
    const body = JSON.stringify(payload);
    const arrived = seen.length;
    if (giveUpOnceSent) {
      const poll = setInterval(() => {
        if (seen.length === arrived) return;
        clearInterval(poll);
        req.destroy();
        resolve('');
      }, 10);
    }
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'POST', path: `http://api.openai.com${urlPath}`, headers: { host: 'api.openai.com', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (stopAfterFirstChunk) {
          req.destroy();
          resolve(text);
        }
      });
      res.on('end', () => resolve(text));
      res.on('error', () => resolve(text));
    });
    req.on('error', (err) => (stopAfterFirstChunk || giveUpOnceSent ? resolve('') : reject(err)));
    req.end(body);
  });

  it('a streamed legacy completion is asked for its usage and charged it; the client gets the stream it asked for', async () => {
    const before = await tokensUsed(agent);
    const text = await post('/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello', stream: true });
    expect(seen.at(-1)).toMatchObject({ path: '/v1/completions', json: { stream: true, stream_options: { include_usage: true } } });
    expect(text).toContain('Hello there');
    expect(text).not.toContain('"usage"');
    expect((await tokensUsed(agent)) - before).toBe(1_234);
  });

  it('a chat stream the client stopped before its usage event is charged the prompt and the answer seen', async () => {
    const before = await tokensUsed(agent);
    const text = await post('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'y'.repeat(PROMPT_CHARS) }] }, true);
    expect(text).toContain('Thinking');
    // Edge ends the upstream stream once the client has gone; then the exchange is charged.
    const deadline = Date.now() + 5_000;
    while ((await tokensUsed(agent)) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // ~10,000 prompt tokens plus 'Thinking about it' (17 characters: 5 tokens).
    expect((await tokensUsed(agent)) - before).toBe(PROMPT_CHARS / 4 + 5);
  });

  it('a request the client gave up on after it was sent, before any answer, is charged its prompt', async () => {
    const before = await tokensUsed(agent);
    await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'z'.repeat(PROMPT_CHARS) }] }, false, true);
    const deadline = Date.now() + 5_000;
    while ((await tokensUsed(agent)) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await tokensUsed(agent)) - before).toBe(PROMPT_CHARS / 4);
  });
});
