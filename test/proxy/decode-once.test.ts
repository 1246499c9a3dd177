import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningAgent } from '../../src/agent.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { startLocalAgentBeforeOrigin, stopAgentAndOrigin } from '../support/local-agent-before-origin.js';

/**
 * Providers compress their answers whenever the client offers to accept it (the SDKs always do). Edge
 * relays the compressed bytes and reads the text beside the relay for three readers: the usage meter,
 * the tally of answer text it charges when no usage comes, and the response guardrails. Each of them
 * decoded the answer itself, so a gzipped stream was inflated three times. A real agent (local mode)
 * with a governed key and response scanning, in front of an origin on 127.0.0.1; the test counts the
 * zlib decoders Node creates while each answer goes by.
 */

const EMAIL = 'jane.doe@acme-corp.com';
const PROMPT = 'p'.repeat(4_000); // 1,000 tokens by Edge's estimate

const sse = (): Buffer => Buffer.from([
  ...['Hello', ` write to ${EMAIL}`, ' soon'].map((content) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`),
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1_100, completion_tokens: 11, total_tokens: 1_111 } })}\n\n`,
  'data: [DONE]\n\n',
].join(''));
const json = (): Buffer => Buffer.from(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `write to ${EMAIL}` } }], usage: { prompt_tokens: 1_200, completion_tokens: 22, total_tokens: 1_222 } }));

/** The answers the origin gives, by the `x-answer` header of the request. */
const ANSWERS: Record<string, { type: string; encoding: string; body: () => Buffer }> = {
  'gzip-sse': { type: 'text/event-stream', encoding: 'gzip', body: () => zlib.gzipSync(sse()) },
  'br-sse': { type: 'text/event-stream', encoding: 'br', body: () => zlib.brotliCompressSync(sse()) },
  'deflate-sse': { type: 'text/event-stream', encoding: 'deflate', body: () => zlib.deflateSync(sse()) },
  'gzip-json': { type: 'application/json', encoding: 'gzip', body: () => zlib.gzipSync(json()) },
  'br-json': { type: 'application/json', encoding: 'br', body: () => zlib.brotliCompressSync(json()) },
  'corrupt-gzip-sse': { type: 'text/event-stream', encoding: 'gzip', body: () => Buffer.concat([zlib.gzipSync(sse()).subarray(0, 10), Buffer.from('this is not deflate data at all')]) },
  // 64 MiB of spaces and then the answer: past the guardrails' bound, so its text is not scanned; its usage is still
  // read, by the scan that keeps only the answer's own top-level keys (json-key-scan.ts), in bounded memory.
  'gzip-bomb-json': { type: 'application/json', encoding: 'gzip', body: () => zlib.gzipSync(Buffer.concat([Buffer.alloc(64 * 1024 * 1024, 0x20), json()])) },
};

/** The zlib decoder constructors the side decoder may use; spied on (they still run) to count instances. */
const DECODER_FACTORIES = ['createGunzip', 'createInflate', 'createBrotliDecompress', 'createUnzip'] as const;

describe('a compressed answer is decoded once for all its readers', () => {
  let origin: http.Server;
  let agent: RunningAgent;
  const records: ExchangeRecord[] = [];
  const sent = new Map<string, Buffer>();

  beforeAll(async () => {
    for (const [name, answer] of Object.entries(ANSWERS)) sent.set(name, answer.body());
    origin = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const name = String(req.headers['x-answer']);
        const answer = ANSWERS[name]!;
        const body = sent.get(name)!;
        res.writeHead(200, { 'content-type': answer.type, 'content-encoding': answer.encoding });
        // In pieces, as a stream arrives: the readers see more than one chunk.
        const piece = Math.max(1, Math.ceil(body.length / 5));
        for (let i = 0; i < body.length; i += piece) res.write(body.subarray(i, i + piece));
        res.end();
      });
    });
    agent = await startLocalAgentBeforeOrigin(origin, {
      dataDirPrefix: 'edge-decode-once-', keyValue: 'sk-bf-decode-once-0001', tokenLimit: 100_000_000,
      config: { guardrails: { scanResponses: true, actions: { email: 'flag' } } },
      onRecord: (record) => records.push(record),
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(() => stopAgentAndOrigin(agent, origin));

  /** A chat request through the proxy (as an HTTP-proxied client sends it): the raw bytes the client got, and the exchange's record. */
  const ask = async (answer: string, stream: boolean) => {
    const proxy = new URL(agent.proxyUrl);
    const body = JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: PROMPT }] });
    const recorded = records.length;
    const received = await new Promise<{ status: number; encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
      const req = http.request({
        host: proxy.hostname, port: proxy.port, method: 'POST', path: 'http://api.openai.com/v1/chat/completions',
        headers: { host: 'api.openai.com', 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br', 'x-answer': answer, 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], bytes: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    const deadline = Date.now() + 5_000;
    while (records.length === recorded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return { ...received, record: records.at(-1)! };
  };

  /** Counts the zlib decoders created while `run` goes (the real constructors still run). */
  const countingDecoders = async <T>(run: () => Promise<T>): Promise<{ result: T; decoders: number }> => {
    const spies = DECODER_FACTORIES.map((name) => vi.spyOn(zlib, name));
    const result = await run();
    const decoders = spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    for (const spy of spies) spy.mockRestore();
    return { result, decoders };
  };

  it.each([
    ['gzip-sse', true, 1_111],
    ['br-sse', true, 1_111],
    ['deflate-sse', true, 1_111],
    ['gzip-json', false, 1_222],
    ['br-json', false, 1_222],
  ])('%s: one decoder feeds meter, tally and scanner; usage charged, answer scanned, bytes relayed as sent', async (answer, stream, totalTokens) => {
    const { result, decoders } = await countingDecoders(() => ask(answer, stream));
    expect(result.status).toBe(200);
    expect(result.encoding).toBe(ANSWERS[answer]!.encoding);
    expect(result.bytes.equals(sent.get(answer)!)).toBe(true);
    expect(decoders).toBe(1);
    expect(result.record.usage).toEqual({ input_tokens: totalTokens - (stream ? 11 : 22), output_tokens: stream ? 11 : 22 });
    expect(result.record.estimatedUsage).toBeUndefined();
    expect(result.record.decision).toBe('flagged');
    expect(result.record.findings).toContainEqual(expect.objectContaining({ type: 'email', location: 'response', action: 'flag' }));
  });

  it('a corrupt stream: the client gets the provider\'s bytes, and the record says no usage was read (the estimate is charged)', async () => {
    const { result, decoders } = await countingDecoders(() => ask('corrupt-gzip-sse', true));
    expect(result.status).toBe(200);
    expect(result.bytes.equals(sent.get('corrupt-gzip-sse')!)).toBe(true);
    expect(decoders).toBe(1);
    expect(result.record.usage).toBeUndefined();
    // The prompt as Edge estimates it, and no answer text: none could be decoded.
    expect(result.record.estimatedUsage).toMatchObject({ input_tokens: PROMPT.length / 4, output_tokens: 0 });
    expect(result.record.decision).toBe('forwarded');
  });

  it('a decompression bomb is inflated once, read for its usage in bounded memory, not scanned past the bound: the bytes relayed', async () => {
    const { result, decoders } = await countingDecoders(() => ask('gzip-bomb-json', false));
    expect(result.status).toBe(200);
    expect(result.bytes.equals(sent.get('gzip-bomb-json')!)).toBe(true);
    expect(decoders).toBe(1);
    expect(result.record.usage).toEqual({ input_tokens: 1_200, output_tokens: 22 });
    expect(result.record.findings).toEqual([]);
    expect(result.record.decision).toBe('forwarded');
  }, 30_000);
});
