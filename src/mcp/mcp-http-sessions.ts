import type { JsonRpcId } from '../providers/mcp-jsonrpc.js';
import { lenientPathReadings } from '../providers/route-lookalike.js';
import { DroppedToolsByServer } from './server-dropped-tools.js';
import { BoundedMemories, ToolListMemory } from './tool-list-memory.js';

/**
 * What the proxy keeps of one Streamable HTTP MCP session (its `Mcp-Session-Id` at a server's endpoint; a server that
 * gives none is one session per endpoint) between its requests:
 * - the `tools/list` requests not answered yet. A server may answer one on any stream of the session (another POST's
 *   answer, the GET stream), and the client takes a response by its id wherever it comes, so every answer of the
 *   session is searched for them, not only the answer to the POST that asked;
 * - what the guardrails dropped from its lists and last decided (tool-list-memory.ts); what they dropped is also known
 *   to the server's other sessions (server-dropped-tools.ts).
 */
export class McpHttpSession {
  /**
   * One request's view of the session: `lists` and `memory` are the session's, `memory` seen through what the
   * server's sessions learnt of its dropped tools as this request spelled the endpoint (ToolListMemory.at).
   */
  constructor(readonly lists = new OutstandingLists(), readonly memory = new ToolListMemory()) {}
}

/** Outstanding `tools/list` requests tracked per session; past it the oldest is forgotten (see OutstandingLists). */
const MAX_OUTSTANDING_LISTS = 1000;

/**
 * The `tools/list` requests of a session still waiting for their answer, by id, with whether each asked for a later
 * page (named a cursor). Bounded: a server that never answers must not grow it; a forgotten request's answer is then
 * still caught on an event stream by its shape (a result holding only a tool list), not on a JSON answer.
 */
export class OutstandingLists {
  private readonly ids = new Map<string, { paged: boolean }>();

  get size(): number {
    return this.ids.size;
  }

  add(id: JsonRpcId, paged: boolean): void {
    const key = idKey(id);
    this.ids.delete(key);
    if (this.ids.size >= MAX_OUTSTANDING_LISTS) this.ids.delete(this.ids.keys().next().value as string);
    this.ids.set(key, { paged });
  }

  has(id: JsonRpcId): boolean {
    return this.ids.has(idKey(id));
  }

  /** Takes the request `id` answers out; what it asked, or undefined when none was waiting. */
  answer(id: JsonRpcId): { paged: boolean } | undefined {
    const key = idKey(id);
    const asked = this.ids.get(key);
    this.ids.delete(key);
    return asked;
  }

  /** The ids still waiting (to answer them with an error when their stream is withheld). */
  pending(): JsonRpcId[] {
    return [...this.ids.keys()].map((key) => JSON.parse(key) as JsonRpcId);
  }
}

/**
 * The sessions the proxy saw, the least recently used forgotten past a bound (see BoundedMemories), and the tools each
 * server's lists dropped, known to all its sessions (a new session may call one before it lists tools).
 */
export class McpHttpSessions {
  private readonly servers = new DroppedToolsByServer();
  private readonly sessions = new BoundedMemories(() => new McpHttpSession());

  /**
   * The session a request belongs to, seen by this request: `endpoint` the server's host and path as the request
   * spelled it (folded as servers route it, see foldedEndpoints: `h/MCP/`, `h/mc%70`, `h/mcp;jsessionid=x` are
   * `h/mcp`), `sessionId` its Mcp-Session-Id, if any. A new view each call (its lists and memory are the session's).
   */
  session(endpoint: string, sessionId: string | undefined): McpHttpSession {
    const session = this.sessions.get(sessionKey(endpoint, sessionId));
    return new McpHttpSession(session.lists, session.memory.at(this.servers.of(foldedEndpoints(endpoint), exactSpelling(endpoint))));
  }

  /** A DELETE ended the session: nothing of it is needed any more. */
  end(endpoint: string, sessionId: string | undefined): void {
    this.sessions.forget(sessionKey(endpoint, sessionId));
  }
}

function sessionKey(endpoint: string, sessionId: string | undefined): string {
  return JSON.stringify([foldedEndpoints(endpoint)[0], sessionId ?? null]);
}

/**
 * The endpoint as one server may see it, each way it may. Servers route leniently: uvicorn decodes `/mc%70`, Tomcat
 * and Jetty drop `;jsessionid=x`, some trim blanks (Python's `strip` a no-break space too), dots or slashes, or ignore
 * letter case. Every such spelling of `h/mcp` is one key, or a client could call a tool dropped from the lists of
 * `h/mcp` at `h/mc%70`, whose memory would be empty. The paths are the route look-alike checks' own readings
 * (lenientPathReadings: escapes decoded, control and non-ASCII bytes dropped or read as a slash, segments loosened,
 * empty and dot segments resolved), so the two cannot drift apart. A dropped tool is kept under every reading and
 * refused at any; the session goes by the first. Folding too much merges two servers' memories, so a tool dropped at
 * one is refused at the other too; a clean list clears only the drops made at its own spelling (server-dropped-tools.ts),
 * so a server at a spelling that folds alike cannot clear what another's list dropped. Folded here rather than by each
 * caller, so no caller can forget it. The root is `h/` (`h` is the same).
 */
function foldedEndpoints(endpoint: string): string[] {
  const { host, path } = splitEndpoint(endpoint);
  return lenientPathReadings(path).map((reading) => `${host}${reading}`);
}

/** The endpoint as the request spelled it: what may clear a drop. The host's letter case routes nowhere else. */
function exactSpelling(endpoint: string): string {
  const { host, path } = splitEndpoint(endpoint);
  return `${host}${path}`;
}

/** An endpoint (`host/path`) as its host in lower case and its path as spelled, the root being `/`. */
function splitEndpoint(endpoint: string): { host: string; path: string } {
  const slash = endpoint.indexOf('/');
  return slash === -1 ? { host: endpoint.toLowerCase(), path: '/' } : { host: endpoint.slice(0, slash).toLowerCase(), path: endpoint.slice(slash) };
}

/** `1` and `"1"` are different JSON-RPC ids. */
function idKey(id: JsonRpcId): string {
  return JSON.stringify(id);
}
