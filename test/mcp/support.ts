import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AgentDecisionClient } from '../../src/mcp/agent-client.js';
import { wrapStdioServer } from '../../src/mcp/stdio-wrapper.js';
import { EDGE_BIN, startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

export const FIXTURE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tool-server.mjs');
export const KEY = 'sk-bf-mcp-e2e-0001';

/** A policy whose key enables the MCP client `client` with the listed tools (and OpenAI, to show it is unrelated). */
export function writeMcpPolicy(dir: string, client: string, tools: string[]): string {
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1',
    version: 3,
    issued_at: new Date(Date.now() - 60_000).toISOString(),
    subject: { sub: 'ada', email: 'ada@example.com' },
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['*'] }],
      mcp_configs: [{ mcp_client_name: client, tools_to_execute: tools }],
    }],
  }));
  return file;
}

/** The tool calls the fixture server actually received. */
export function readCalls(file: string): Array<{ tool: string; args: Record<string, unknown> }> {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { tool: string; args: Record<string, unknown> });
}

export interface WrappedClient {
  client: Client;
  stderr(): string;
  close(): Promise<void>;
}

/**
 * A real MCP client (the official SDK over stdio) whose server command is `bifrost-edge mcp wrap … --
 * node tool-server.mjs`, exactly what an admin writes into Claude Desktop's or Cursor's config.
 */
export async function connectWrapped(options: { name: string; dataDir: string; callsFile: string }): Promise<WrappedClient> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [EDGE_BIN, 'mcp', 'wrap', '--name', options.name, '--data-dir', options.dataDir, '--', process.execPath, FIXTURE_SERVER],
    env: { ...env, MCP_FIXTURE_CALLS: options.callsFile },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const client = new Client({ name: 'mcp-e2e-client', version: '1.2.3' });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** The agent's audit records, via the real CLI. */
export function auditRecords(dataDir: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [EDGE_BIN, 'audit', 'tail', '--json', '--limit', '500', '--data-dir', dataDir], (err, stdout, stderr) => {
      if (err) reject(new Error(stderr || err.message));
      else resolve(stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { record: Record<string, unknown> }).record));
    });
  });
}

export interface Wrapped {
  send(text: string): void;
  /** Resolves with the client's messages once the wrapper has ended (after `end`). */
  finish(): Promise<{ code: number; messages: Array<Record<string, unknown>>; stderr: string }>;
  /** The next message the client gets with this id. */
  next(id: number | string): Promise<Record<string, unknown>>;
}

/**
 * The wrapper run in-process (PassThrough streams for the client's pipes) around a real server process.
 * `agent`: a stand-in, or undefined for the real agent of `dataDir`.
 */
export function runWrapped(command: string[], agent: AgentDecisionClient | undefined, env: Record<string, string> = {}, dataDir = '/nonexistent'): Wrapped {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
    waiters.splice(0).forEach((w) => w());
  });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const done = wrapStdioServer({ name: 'gh', command, dataDir, stdin, stdout, stderr, ...(agent ? { agent } : {}) });
  process.env = saved;
  const messages = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    send: (text) => stdin.write(text),
    finish: async () => {
      stdin.end();
      const code = await done;
      return { code, messages: messages(), stderr: err };
    },
    next: async (id) => {
      for (;;) {
        const found = messages().find((m) => m['id'] === id);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

/** The custom rule the MCP tool-list tests block on: a prompt injection in a tool's text. */
export const PROMPT_INJECTION_RULE = { id: 'prompt-injection', message: 'Looks like a prompt injection', pattern: 'ignore[ _-]previous[ _-]instructions', flags: 'i', action: 'block' } as const;

/** A fetch that goes through Edge's proxy, trusting its CA: what an MCP client pointed at Edge uses. */
export function fetchThroughEdge(edge: EdgeProcess): typeof fetch {
  const dispatcher = proxyDispatcher(edge.proxyUrl, edge.caPem);
  return ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
}

/** An MCP SDK client connected over Streamable HTTP to `url` through Edge. */
export async function mcpClientThroughEdge(edge: EdgeProcess, url: string, name: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchThroughEdge(edge) }));
  return client;
}

/**
 * A local-mode Edge that governs the remote MCP server at `host` (served by `origin`): the tools `tools` allowed by
 * its policy file, the prompt-injection rule among its guardrails.
 */
export function startMcpGoverningEdge(options: { host: string; origin: string; tools: string[]; dataDirPrefix: string }): Promise<EdgeProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), options.dataDirPrefix));
  return startEdgeProcess({
    dataDir,
    config: {
      mode: 'local',
      interceptHosts: [options.host],
      upstream: { originOverrides: { [options.host]: options.origin } },
      policyFile: writeMcpPolicy(dataDir, options.host, options.tools),
      guardrails: { customRules: [PROMPT_INJECTION_RULE] },
    },
  });
}
