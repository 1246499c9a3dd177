import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { curl } from '../support/proxy-clients.js';

/** Through the whole agent: the gateway sends an answer's head and one event, then stalls forever. */
describe('a gateway that stalls in the middle of an answer', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('the client is let go after gateway.bodyIdleTimeoutMs, and the record says upstream_timeout', async () => {
    const gateway = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { gateway.closeAllConnections(); gateway.close(() => resolve()); }));
    const records: ExchangeRecord[] = [];
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'edge-stall-')),
        metrics: { port: null },
        proxy: { port: 0 },
        gateway: { url: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`, virtualKey: 'sk-bf-stall-0001', bodyIdleTimeoutMs: 800 },
      },
    });
    const agent: RunningAgent = await startAgent(config, { log: silentLogger, onRecord: (record) => records.push(record) });
    cleanups.push(() => agent.close());

    const started = Date.now();
    const res = await curl(['-N', '-x', agent.proxyUrl, '--cacert', agent.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] })]);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(res.body).toContain('"content":"hi"');
    expect(res.exitCode).not.toBe(0);
    const record = records.find((r) => r.path === '/v1/chat/completions');
    // The client got the gateway's 200 head before the answer stalled: the record says so.
    expect(record).toMatchObject({ decision: 'failed', status: 200, errorType: 'upstream_timeout' });
  });
});
