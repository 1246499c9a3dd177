import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { WebSocketServer, type RawData } from 'ws';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { closeWithin, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * A Realtime session is closed once its key's budget is spent, though the key's request limit is reached too (its
 * opening reached it): the check after each charge asks about the key's token and spend windows only. Through a
 * real Edge in local mode, before a Realtime origin that answers each response.create with 30,000 tokens of
 * gpt-realtime ($0.24, the key's $0.01 daily budget spent at once).
 */

const started: Array<() => Promise<void>> = [];
afterAll(async () => { await Promise.all(started.map((stop) => stop())); });

async function edgeBeforeOrigin(): Promise<EdgeProcess> {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data: RawData) => {
      if ((JSON.parse(String(data)) as { type?: string }).type !== 'response.create') return;
      ws.send(JSON.stringify({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 30000, input_tokens: 20000, output_tokens: 10000 } } }));
    });
  }));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-budget-close-'));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: 'sk-bf-ws-0003', is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime'] }],
      rate_limit: { request_max_limit: 1, request_reset_duration: '1h' },
      budgets: [{ max_limit: 0.01, reset_duration: '1d' }],
    }],
  }));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const edge = await startEdgeProcess({ dataDir, config: { mode: 'local', policyFile, upstream: { originOverrides: { 'api.openai.com': originUrl } } } });
  started.push(async () => {
    await edge.stop();
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  });
  return edge;
}

it('a Realtime session whose budget is spent is closed though its key\'s request limit is reached', async () => {
  const edge = await edgeBeforeOrigin();
  const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
  await opened(ws);
  ws.send(JSON.stringify({ type: 'response.create' }));
  const outcome = await closeWithin(ws, 3000);
  expect(outcome).toMatchObject({ code: 1008 });
  expect(outcome !== 'still open' && outcome.reason).toContain("Your key 'eng-team' has used up its $0.01 budget per day");
  if (outcome === 'still open') ws.close();
});
