import { createHash } from 'node:crypto';

/**
 * The tools the guardrails left out of a remote MCP server's tool lists, per server (its endpoint: host and path)
 * rather than per session: a client that opens a new session and calls a tool it learnt of elsewhere (an earlier
 * session, another client, a guess) before listing tools is refused too, until a list from that server, in any
 * session, shows the tool clean. Not per key or user: what the guardrails find in a tool's text does not depend on who
 * lists it (the key's own filter refuses the tools it hides on its own).
 *
 * A server's key folds the spellings a lenient server routes alike (mcp-http-sessions.ts), so a drop is refused at every
 * spelling. A clean list clears it only when it comes from a spelling (the endpoint as the request sent it) whose list
 * dropped it: behind a strict router, `h/mcp.` may be another server, and its clean `exec` must not clear the poisoned
 * `exec` that `h/mcp` listed.
 *
 * Bounded, servers × tools: a server offering endless poisoned tools, each under a new name, must not grow Edge's
 * memory. The least recently touched server past MAX_SERVERS, and a server's oldest dropped tool past
 * MAX_TOOLS_PER_SERVER, are forgotten; a forgotten tool's call from another session is then decided on its own
 * content, as every call was before this memory (the session that was shown the list still refuses it). A long name
 * (a list's names are not bounded) is kept as its digest.
 */
export class DroppedToolsByServer {
  private readonly servers = new Map<string, DroppedToolSet>();
  /** Counts every drop, of any tool under any server: a drop's number is never reused (see lastDrop). */
  private drops = 0;

  constructor(private readonly maxServers = MAX_SERVERS, private readonly maxToolsPerServer = MAX_TOOLS_PER_SERVER) {}

  /**
   * What is known of the dropped tools of the server a request reached, read and noted through the server's keys each
   * time: `servers` every key a lenient server may read the endpoint as (a tool dropped under any is refused), `spelling`
   * the endpoint as the request sent it (what may clear a drop, see above).
   */
  of(servers: string | readonly string[], spelling = ''): ServerDroppedTools {
    return new ServerDroppedTools(this, typeof servers === 'string' ? [servers] : [...new Set(servers)], spelling);
  }

  /** A list from `spelling` of `server` dropped `tool`. */
  drop(server: string, tool: string, spelling = ''): void {
    const tools = this.touch(server) ?? new DroppedToolSet(this.maxToolsPerServer);
    if (!this.servers.has(server)) {
      if (this.servers.size >= this.maxServers) this.servers.delete(this.servers.keys().next().value as string);
      this.servers.set(server, tools);
    }
    tools.add(tool, spelling, ++this.drops);
  }

  /**
   * The number of the latest drop of `tool` under `server` still remembered; undefined when none is. A session's own
   * clean list counts only against the drops made before it (ToolListMemory): one made later has a higher number.
   */
  lastDrop(server: string, tool: string): number | undefined {
    return this.servers.get(server)?.lastDrop(tool);
  }

  /** A list from `spelling` of `server` showed `tool` clean: the drops other spellings' lists made stay. */
  clear(server: string, tool: string, spelling = ''): void {
    const tools = this.servers.get(server);
    if (tools === undefined) return;
    tools.delete(tool, spelling);
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
 * long name is kept as its digest. One per server above, and per session or wrapped server in ToolListMemory (what its
 * lists dropped, and where they showed clean a tool the server's memory still refuses).
 * Each tool keeps the spellings whose lists dropped it (`''` where there is one spelling only): it is gone once each
 * of them has shown it clean. Past MAX_SPELLINGS_PER_TOOL the oldest spelling is forgotten and can no longer clear the
 * tool: it stays refused until a list from a spelling still kept shows it clean, the safe direction.
 */
export class DroppedToolSet {
  /** The spellings' keys by tool key: one spelling (the common case, and every one a session keeps) as a bare string. */
  private readonly spellingsByTool = new Map<string, string | string[]>();
  /** The number of each tool's latest drop (DroppedToolsByServer.lastDrop), for the tools that were given one. */
  private readonly lastDrops = new Map<string, number>();

  constructor(private readonly max = MAX_TOOLS_PER_SERVER) {}

  add(tool: string, spelling = '', dropNumber?: number): void {
    const key = toolKey(tool);
    const spellings = spellingList(this.spellingsByTool.get(key));
    this.spellingsByTool.delete(key);
    if (this.spellingsByTool.size >= this.max) this.removeKey(this.spellingsByTool.keys().next().value as string);
    const spellingKey = spellingKeyOf(spelling);
    const kept = [...spellings.filter((other) => other !== spellingKey).slice(-(MAX_SPELLINGS_PER_TOOL - 1)), spellingKey];
    this.spellingsByTool.set(key, kept.length === 1 ? spellingKey : kept);
    if (dropNumber !== undefined) this.lastDrops.set(key, dropNumber);
  }

  lastDrop(tool: string): number | undefined {
    return this.lastDrops.get(toolKey(tool));
  }

  /** A list from `spelling` showed `tool` clean. */
  delete(tool: string, spelling = ''): void {
    const key = toolKey(tool);
    const spellings = this.spellingsByTool.get(key);
    if (spellings === undefined) return;
    const spellingKey = spellingKeyOf(spelling);
    const kept = spellingList(spellings).filter((other) => other !== spellingKey);
    if (kept.length === 0) this.removeKey(key);
    else this.spellingsByTool.set(key, kept.length === 1 ? kept[0] as string : kept);
  }

  /** Every spelling of `tool` gone at once. */
  forget(tool: string): void {
    this.removeKey(toolKey(tool));
  }

  private removeKey(key: string): void {
    this.spellingsByTool.delete(key);
    this.lastDrops.delete(key);
  }

  has(tool: string): boolean {
    return this.spellingsByTool.has(toolKey(tool));
  }

  /** Whether `tool` is kept with `spelling`. */
  hasAt(tool: string, spelling: string): boolean {
    return spellingList(this.spellingsByTool.get(toolKey(tool))).includes(spellingKeyOf(spelling));
  }

  get size(): number {
    return this.spellingsByTool.size;
  }
}

/** One request's view of DroppedToolsByServer: its server's keys, and the endpoint as it spelled it (see `of`). */
export class ServerDroppedTools {
  /** `spelling`: the endpoint as the request spelled it (a session's own clean lists count at theirs, ToolListMemory). */
  constructor(private readonly all: DroppedToolsByServer, private readonly servers: readonly string[], readonly spelling: string) {}

  drop(tool: string): void {
    for (const server of this.servers) this.all.drop(server, tool, this.spelling);
  }

  clear(tool: string): void {
    for (const server of this.servers) this.all.clear(server, tool, this.spelling);
  }

  has(tool: string): boolean {
    return this.servers.some((server) => this.all.has(server, tool));
  }

  /** The number of the latest drop of `tool` under any of the server's keys still remembered (DroppedToolsByServer). */
  lastDrop(tool: string): number | undefined {
    let latest: number | undefined;
    for (const server of this.servers) {
      const dropped = this.all.lastDrop(server, tool);
      if (dropped !== undefined && (latest === undefined || dropped > latest)) latest = dropped;
    }
    return latest;
  }
}

/** Servers whose dropped tools are remembered; past it, the least recently touched is forgotten. */
export const MAX_SERVERS = 100;
/**
 * Dropped tools remembered per server, and per session (ToolListMemory: up to 1000 sessions, BoundedMemories). A real
 * server has a handful of tools, and few of them offend; the bound is for one that does not behave. Measured at the
 * worst (every server and session full, names of LITERAL_NAME_CHARS two-byte characters): about 1.6 MB for the servers
 * (about 7 MB when every tool also keeps MAX_SPELLINGS_PER_TOOL long spellings) and 13.5 MB for the sessions. A
 * session's tools shown clean while the server's memory refused them (ToolListMemory) are bounded alike, so at most as
 * much again (not measured; they are kept only while a drop made at another spelling stands, so seldom any).
 */
export const MAX_TOOLS_PER_SERVER = 100;
/**
 * Spellings kept per dropped tool (DroppedToolSet): a client may reach a server by a few spellings of its endpoint
 * (`/mcp`, `/mcp/`); more only grows memory. Each is kept as a tool name is (long ones as a digest).
 */
export const MAX_SPELLINGS_PER_TOOL = 4;
/** Names up to this long are kept as they are; longer ones as their SHA-256 (43 characters, one byte each). */
const LITERAL_NAME_CHARS = 32;

function spellingList(spellings: string | string[] | undefined): string[] {
  return spellings === undefined ? [] : typeof spellings === 'string' ? [spellings] : spellings;
}

/** The one spelling of a memory that has no others (stdio, a session's own), one string for all its tools. */
const SOLE_SPELLING = '';

function spellingKeyOf(spelling: string): string {
  return spelling === SOLE_SPELLING ? SOLE_SPELLING : toolKey(spelling);
}

function toolKey(tool: string): string {
  return tool.length <= LITERAL_NAME_CHARS ? `n:${tool}` : `h:${createHash('sha256').update(tool).digest('base64url')}`;
}
