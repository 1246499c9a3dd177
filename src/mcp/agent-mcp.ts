import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SeenMcpServer } from '../control/protocol/heartbeat.js';
import type { ExchangeRecord } from '../proxy/exchange.js';
import { createMcpLocalApi, isMcpLocalPath } from './local-api.js';
import { McpServerInventory } from './servers-seen.js';
import { createStdioDecisions, type StdioDecisionDeps } from './stdio-decisions.js';

/** MCP governance as the agent composes it: the wrapper's loopback API and the inventory of servers seen. */
export interface AgentMcp {
  isLocalPath(urlPath: string): boolean;
  serveLocal(req: IncomingMessage, res: ServerResponse, urlPath: string): void;
  /** Every finished exchange passes here, so remote MCP servers reached through the proxy are listed too. */
  observe(record: ExchangeRecord): void;
  serversSeen(): SeenMcpServer[];
}

export function createAgentMcp(deps: Omit<StdioDecisionDeps, 'inventory'> & { onError: (err: unknown) => void }): AgentMcp {
  const inventory = new McpServerInventory(deps.now);
  const api = createMcpLocalApi(createStdioDecisions({ ...deps, inventory }), deps.onError);
  return {
    isLocalPath: isMcpLocalPath,
    serveLocal: api,
    observe: (record) => {
      // Stdio calls were listed with their command line when decided.
      if (record.provider === 'mcp' && !record.host.startsWith('stdio:')) inventory.recordHttp(record.host, record.path);
    },
    serversSeen: () => inventory.list(),
  };
}
