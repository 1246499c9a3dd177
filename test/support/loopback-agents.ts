import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { CompiledGuardrailPolicy } from '../../src/guardrails/index.js';
import { createAgentMcp } from '../../src/mcp/agent-mcp.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { writeRuntimeFile } from '../../src/runtime-file.js';

export interface LoopbackAgents {
  /** A data dir whose runtime file points at `handler` listening on loopback, as a running agent's does. */
  at(handler: http.RequestListener): Promise<string>;
  /** A data dir of the agent's real MCP API (no policy bundle: every tool allowed) checking with `guardrails`, recording into `records`. */
  real(guardrails: CompiledGuardrailPolicy, records: ExchangeRecord[]): Promise<string>;
  /** Closes every server started so far (after each test). */
  closeAll(): Promise<void>;
}

/**
 * Agents as the stdio wrapper finds them, through a data dir's runtime file: the real MCP API or a stand-in, on
 * loopback; their data dirs are named from `dataDirPrefix`.
 */
export function loopbackAgents(dataDirPrefix: string): LoopbackAgents {
  const servers: http.Server[] = [];
  const at = async (handler: http.RequestListener): Promise<string> => {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), dataDirPrefix));
    writeRuntimeFile(dataDir, { pid: process.pid, proxy: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: '', startedAt: new Date().toISOString() });
    return dataDir;
  };
  return {
    at,
    real: (guardrails, records) => {
      const mcp = createAgentMcp({ inspectors: () => [], record: async (record) => { records.push(record); }, bundle: () => undefined, guardrails: () => guardrails, onError: (err) => { throw err; } });
      return at((req, res) => mcp.serveLocal(req, res, req.url ?? '/'));
    },
    closeAll: async () => {
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
