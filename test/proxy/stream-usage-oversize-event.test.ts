import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageEventStripper } from '../../src/proxy/stream-usage.js';
import { runThrough } from '../support/transform-run.js';

/**
 * A streamed chat completion may carry one event larger than Edge holds (a long tool-call argument, a big content
 * delta); the usage-only event Edge asked for comes after it, at the end. That event must still be taken out: the
 * client did not ask for it, and an SDK that reads `choices[0]` of every chunk breaks on it.
 */

const MAX_EVENT_CHARS = 1000;
const delta = (text: string, nl: string) => `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${text}"}}],"usage":null}${nl}${nl}`;
const big = (nl: string) => `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${'é'.repeat(3000)}"}}],"usage":null}${nl}${nl}`;
const usageOnly = (nl: string) => `data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}${nl}${nl}`;
const done = (nl: string) => `data: [DONE]${nl}${nl}`;

/** An origin streaming `pieces` of an event stream one write at a time, each after the previous one was flushed. */
let server: http.Server;
let url: string;
const streams = new Map<string, string[]>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const pieces = streams.get(req.url ?? '') ?? [];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const next = (i: number): void => {
      if (i === pieces.length) {
        res.end();
        return;
      }
      res.write(pieces[i], () => setImmediate(() => next(i + 1)));
    };
    next(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The origin's stream at `path`, as the client gets it through the usage stripper. */
function streamThroughStripper(path: string, pieces: string[]): Promise<string> {
  streams.set(path, pieces);
  return new Promise((resolve, reject) => {
    http.get(`${url}${path}`, (response) => {
      const stripper = createUsageEventStripper(response.headers, MAX_EVENT_CHARS);
      if (stripper === undefined) return reject(new Error('no stripper for this answer'));
      const out: Buffer[] = [];
      response.pipe(stripper).on('data', (chunk: Buffer) => out.push(chunk)).on('end', () => resolve(Buffer.concat(out).toString('utf8'))).on('error', reject);
    }).on('error', reject);
  });
}

describe('the usage stripper after an event too large to hold', () => {
  it.each([['LF', '\n'], ['CRLF', '\r\n']])('%s: the large event passes as it came, and the usage-only event after it is still taken out', async (_name, nl) => {
    const event = big(nl);
    // The large event arrives in pieces, the last one ending at its blank line's first character.
    const pieces = [delta('a', nl), event.slice(0, 700), event.slice(700, -1), event.slice(-1) + delta('b', nl), usageOnly(nl), done(nl)];
    expect(await streamThroughStripper(`/${_name}`, pieces)).toBe(delta('a', nl) + event + delta('b', nl) + done(nl));
  });

  it('however the stream is split, even between the CR and LF ending the large event, every other byte passes as it came', async () => {
    const nl = '\r\n';
    const stream = delta('a', nl) + big(nl) + usageOnly(nl) + done(nl);
    const expected = delta('a', nl) + big(nl) + done(nl);
    const bigEnd = delta('a', nl).length + big(nl).length;
    for (const cut of [bigEnd - 3, bigEnd - 2, bigEnd - 1, bigEnd, bigEnd + 1]) {
      const stripper = createUsageEventStripper({ 'content-type': 'text/event-stream' }, MAX_EVENT_CHARS)!;
      expect(await runThrough(stripper, [stream.slice(0, 500), stream.slice(500, cut), stream.slice(cut)]), `cut at ${cut - bigEnd}`).toBe(expected);
    }
  });
});
