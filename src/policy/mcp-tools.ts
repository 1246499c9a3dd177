import type { McpConfig, VirtualKey } from '../control/protocol/virtual-key.js';
import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import type { NormalizedRequest } from '../providers/types.js';
import { selectActiveKey } from './active-key.js';

/**
 * MCP tool governance with Bifrost's vocabulary: a key's `mcp_configs` name MCP clients and the tools of
 * each it may execute (`["*"]` all, `[]` none); gateway tool names are `clientName-toolName`.
 *
 * Which tools are checked: calls (never definitions: offering a tool is not running it).
 * - In MCP protocol requests (adapter `mcp`), every call is an MCP tool execution: a call to a client the
 *   key does not list is refused like a tool the key does not list. The adapter names the client of each
 *   call (`mcpClient`: the wrapper's `--name`, or the remote server's host), so nothing is guessed.
 * - In model requests, only calls whose name starts with a client the key lists (`clientName-`) are MCP
 *   calls; anything else is the app's own function (Claude Code's `Read`) and not the key's business.
 */

export interface McpToolRef {
  client: string;
  tool: string;
  /** The name as it appeared in the request. */
  name: string;
}

export function mcpClientName(config: McpConfig): string | undefined {
  return config.mcp_client_name ?? config.mcp_client?.name;
}

/** Splits `clientName-toolName` at the longest client name the key knows (client names may contain `-`). */
export function splitToolName(name: string, knownClients: readonly string[]): McpToolRef | undefined {
  const client = knownClients
    .filter((c) => name.length > c.length + 1 && name.startsWith(`${c}-`))
    .sort((a, b) => b.length - a.length)[0];
  return client === undefined ? undefined : { client, tool: name.slice(client.length + 1), name };
}

export interface McpRefusal {
  ref: McpToolRef;
  /** What the key allows on that client: the tool list, or undefined when the client is not enabled at all. */
  allowedTools: string[] | undefined;
}

export function isMcpProtocolRequest(request: NormalizedRequest): boolean {
  return request.adapter === 'mcp';
}

/** Each MCP client the key enables, with the tools it may execute there (configs for one client add up). */
function mcpPermissions(key: VirtualKey): Map<string, string[]> {
  const configs = new Map<string, string[]>();
  for (const config of key.mcp_configs) {
    const client = mcpClientName(config);
    if (client !== undefined) configs.set(client, [...(configs.get(client) ?? []), ...config.tools_to_execute]);
  }
  return configs;
}

/** The first MCP tool call the key does not allow, or undefined when every call is allowed. */
export function checkMcpTools(request: NormalizedRequest, key: VirtualKey): McpRefusal | undefined {
  const configs = mcpPermissions(key);
  const clients = [...configs.keys()];
  const protocol = isMcpProtocolRequest(request);
  for (const tool of request.tools) {
    if (tool.kind !== 'call') continue;
    const ref = tool.mcpClient !== undefined
      ? clientRef(tool.name, tool.mcpClient)
      : splitToolName(tool.name, clients) ?? (protocol ? unknownClientRef(tool.name) : undefined);
    if (ref === undefined) continue;
    const refusal = refuse(configs, ref);
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * The tools of one MCP client that the key lets the user run, out of those a server offers (`tools/list`):
 * what a wrapper shows, so a model is never offered a tool whose call would be refused.
 */
export function allowedMcpTools(key: VirtualKey, client: string, tools: readonly string[]): string[] {
  const configs = mcpPermissions(key);
  return tools.filter((tool) => refuse(configs, { client, tool, name: `${client}-${tool}` }) === undefined);
}

/**
 * What the user is shown of a server's tools under the policy in force (stdio wrapper and remote
 * servers alike). Without a usable key every call is refused anyway, with a message that says why;
 * hiding all tools would only leave the user wondering where they went.
 */
export function visibleMcpTools(bundle: PolicyBundle | undefined, client: string, tools: string[], now: Date): string[] {
  const selection = bundle ? selectActiveKey(bundle, now) : undefined;
  return selection?.kind === 'usable' ? allowedMcpTools(selection.key, client, tools) : [...tools];
}

function refuse(configs: Map<string, string[]>, ref: McpToolRef): McpRefusal | undefined {
  const allowed = configs.get(ref.client);
  if (allowed === undefined) return { ref, allowedTools: undefined };
  return toolAllowed(allowed, ref) ? undefined : { ref, allowedTools: allowed };
}

function toolAllowed(allowed: readonly string[], ref: McpToolRef): boolean {
  return allowed.includes('*') || allowed.includes(ref.tool) || allowed.includes(ref.name);
}

/** A call whose client is known from where it went (`name` is `client-tool`, as the MCP adapter writes it). */
function clientRef(name: string, client: string): McpToolRef {
  return { client, tool: name.startsWith(`${client}-`) ? name.slice(client.length + 1) : name, name };
}

/** A call to a client the key does not list: the client is what precedes the first `-`, if anything. */
function unknownClientRef(name: string): McpToolRef {
  const dash = name.indexOf('-');
  return dash > 0 ? { client: name.slice(0, dash), tool: name.slice(dash + 1), name } : { client: name, tool: name, name };
}
