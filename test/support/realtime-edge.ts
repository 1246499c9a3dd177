import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { WebSocketServer } from 'ws';
import { startEdgeProcess, type EdgeProcess } from './edge-process.js';
import { closedPort } from './ports.js';

export interface RealtimeEdgeOptions {
  /** The models the key allows on OpenAI; default the Realtime model `gpt-realtime`. */
  allowedModels?: string[];
  /** The key's `rate_limit` (Bifrost's shape: `request_max_limit`, `request_reset_duration`, …); default none. */
  rateLimit?: Record<string, unknown>;
  /** The models the key allows on Gemini; given, Gemini's host goes to `origin` too. Default: no Gemini. */
  geminiModels?: string[];
  /** With `geminiModels`: Gemini's host goes to a port nothing listens on instead (an upstream out of reach). */
  geminiUnreachable?: boolean;
  /** The models the key allows on xAI; given, xAI's host goes to `origin` too. Default: no xAI. */
  xaiModels?: string[];
  /** More of Edge's configuration (a `gateway` for content safety's moderation route, `guardrails`); default none. */
  config?: Record<string, unknown>;
  /**
   * The policy's routing mode (`routing.default_mode`); default the bundle's own, `gateway`, under which sockets go
   * to their origin only while no gateway is configured. `local` keeps them there when `config` names a gateway.
   */
  defaultMode?: 'local' | 'gateway';
  /** The key's provider configs in full, instead of those the options above make (an Azure deployment, say). */
  providerConfigs?: Array<{ provider: string; allowed_models: string[] }>;
  /** More hosts sent to `origin` (Azure resources, say), besides those the options above send. */
  originHosts?: string[];
}

/**
 * The WebSocket tests' setup: `origin` (an HTTP server whose upgrades a `ws` server handles) listens on
 * 127.0.0.1, and a local-mode Edge sends api.openai.com there, with a policy whose key allows the Realtime
 * model `gpt-realtime` (or the models `options` name, under the rate limit it names).
 */
export async function startEdgeBeforeRealtimeOrigin(origin: http.Server, dataDirPrefix: string, options: RealtimeEdgeOptions = {}): Promise<EdgeProcess> {
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), dataDirPrefix));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: 'sk-bf-ws-0002', is_active: true, provider_configs: options.providerConfigs ?? [
      { provider: 'openai', allowed_models: options.allowedModels ?? ['gpt-realtime'] },
      ...(options.geminiModels ? [{ provider: 'gemini', allowed_models: options.geminiModels }] : []),
      ...(options.xaiModels ? [{ provider: 'xai', allowed_models: options.xaiModels }] : []),
    ], ...(options.rateLimit ? { rate_limit: options.rateLimit } : {}) }],
    ...(options.defaultMode ? { routing: { default_mode: options.defaultMode } } : {}),
  }));
  const originOverrides = {
    'api.openai.com': originUrl,
    ...(options.geminiModels ? { 'generativelanguage.googleapis.com': options.geminiUnreachable ? `http://127.0.0.1:${await closedPort()}` : originUrl } : {}),
    ...(options.xaiModels ? { 'api.x.ai': originUrl } : {}),
    ...Object.fromEntries((options.originHosts ?? []).map((host) => [host, originUrl])),
  };
  return startEdgeProcess({ dataDir, config: { mode: 'local', policyFile, upstream: { originOverrides }, ...options.config } });
}

/** The WebSocket tests' teardown: Edge stopped first (its sockets end), then the origin's `ws` server and the origin. */
export async function stopEdgeAndOrigin(edge: EdgeProcess | undefined, origin: http.Server, wss: WebSocketServer): Promise<void> {
  await edge?.stop();
  wss.close();
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
}
