import { createHash } from 'node:crypto';

/**
 * The tools the guardrails left out of a remote MCP server's tool lists, per server (its endpoint: host and path)
 * rather than per session: a client that opens a new session and calls a tool it learnt of elsewhere (an earlier
 * session, another client, a guess) before listing tools is refused too, until a list from that server, in any
 * session, shows the tool clean. Not per key or user: what the guardrails find in a tool's text does not depend on who
 * lists it (the key's own filter refuses the tools it hides on its own).
 *
 * Bounded, servers × tools: a server offering endless poisoned tools, each under a new name, must not grow Edge's
 * memory. The least recently touched server past MAX_SERVERS, and a server's oldest dropped tool past
 * MAX_TOOLS_PER_SERVER, are forgotten; a forgotten tool's call from another session is then decided on its own
 * content, as every call was before this memory (the session that was shown the list still refuses it). A long name
 * (a list's names are not bounded) is kept as its digest.
 */
export class DroppedToolsByServer {
  private readonly servers = new Map<string, DroppedToolSet>();

  constructor(private readonly maxServers = MAX_SERVERS, private readonly maxToolsPerServer = MAX_TOOLS_PER_SERVER) {}

  /** What is known of `server`'s dropped tools, read and noted through the server's key each time. */
  of(server: string): ServerDroppedTools {
    return new ServerDroppedTools(this, server);
  }

  drop(server: string, tool: string): void {
    const tools = this.touch(server) ?? new DroppedToolSet(this.maxToolsPerServer);
    if (!this.servers.has(server)) {
      if (this.servers.size >= this.maxServers) this.servers.delete(this.servers.keys().next().value as string);
      this.servers.set(server, tools);
    }
    tools.add(tool);
  }

  /** A list of `server` showed `tool` clean. */
  clear(server: string, tool: string): void {
    const tools = this.servers.get(server);
    if (tools === undefined) return;
    tools.delete(tool);
    if (tools.size === 0) this.servers.delete(server);
  }

  has(server: string, tool: string): boolean {
    const tools = this.servers.get(server);
    if (tools === undefined || !tools.has(tool)) return false;
    // A server whose dropped tools are being called is the last to be forgotten.
    this.touch(server);
    return true;
  }

  /** How many tools are remembered in all (for tests of the bound). */
  get size(): number {
    let size = 0;
    for (const tools of this.servers.values()) size += tools.size;
    return size;
  }

  /** Moves `server` up to the most recently used; its tools, if it has an entry. */
  private touch(server: string): DroppedToolSet | undefined {
    const tools = this.servers.get(server);
    if (tools === undefined) return undefined;
    this.servers.delete(server);
    this.servers.set(server, tools);
    return tools;
  }
}

/**
 * A set of dropped tool names, bounded: past `max`, the oldest added is forgotten (one dropped again is the newest); a
 * long name is kept as its digest. One per server above, and one per session or wrapped server in ToolListMemory.
 */
export class DroppedToolSet {
  private readonly keys = new Set<string>();

  constructor(private readonly max = MAX_TOOLS_PER_SERVER) {}

  add(tool: string): void {
    const key = toolKey(tool);
    this.keys.delete(key);
    if (this.keys.size >= this.max) this.keys.delete(this.keys.values().next().value as string);
    this.keys.add(key);
  }

  delete(tool: string): void {
    this.keys.delete(toolKey(tool));
  }

  has(tool: string): boolean {
    return this.keys.has(toolKey(tool));
  }

  get size(): number {
    return this.keys.size;
  }
}

/** One server's view of DroppedToolsByServer (held by each of its sessions' memories). */
export class ServerDroppedTools {
  constructor(private readonly all: DroppedToolsByServer, private readonly server: string) {}

  drop(tool: string): void {
    this.all.drop(this.server, tool);
  }

  clear(tool: string): void {
    this.all.clear(this.server, tool);
  }

  has(tool: string): boolean {
    return this.all.has(this.server, tool);
  }
}

/** Servers whose dropped tools are remembered; past it, the least recently touched is forgotten. */
export const MAX_SERVERS = 100;
/**
 * Dropped tools remembered per server, and per session (ToolListMemory: up to 1000 sessions, BoundedMemories). A real
 * server has a handful of tools, and few of them offend; the bound is for one that does not behave. Measured at the
 * worst (every server and session full, names of LITERAL_NAME_CHARS two-byte characters): about 1.6 MB for the servers
 * and 13.5 MB for the sessions.
 */
export const MAX_TOOLS_PER_SERVER = 100;
/** Names up to this long are kept as they are; longer ones as their SHA-256 (43 characters, one byte each). */
const LITERAL_NAME_CHARS = 32;

function toolKey(tool: string): string {
  return tool.length <= LITERAL_NAME_CHARS ? `n:${tool}` : `h:${createHash('sha256').update(tool).digest('base64url')}`;
}
