import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';

/**
 * A second SIGTERM exits at once, without the clean shutdown; it must still give up the data dir
 * lock, or the next start on that data dir may refuse (or, were the pid reused, refuse for good).
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gateway whose streamed answers never end, so a shutdown always has a request to wait for. */
async function neverEndingGateway(): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/health') return void res.end('{"status":"ok"}');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"t"}}]}\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a second signal', () => {
  it('exits at once and removes the data dir lock', async () => {
    const gateway = await neverEndingGateway();
    const edge = await startEdgeProcess({ config: { metrics: { port: null }, gateway: { url: gateway, virtualKey: 'sk-bf-second-0001' }, proxy: { shutdownGraceMs: 60_000 } } });
    cleanups.push(() => edge.stop('SIGKILL'));
    const lockFile = path.join(edge.dataDir, 'agent.lock');
    expect(fs.existsSync(lockFile)).toBe(true);
    const exited = new Promise<number | null>((resolve) => edge.child.once('exit', (code) => resolve(code)));
    const pending = curl(['-N', '-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })]);
    await sleep(700);
    edge.child.kill('SIGTERM');
    await sleep(300);
    edge.child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(fs.existsSync(lockFile)).toBe(false);
    await pending;
  });
});
