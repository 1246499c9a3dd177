import type { JsonRpcId } from '../providers/mcp-jsonrpc.js';
import { decodedUntilStable, looseRoutablePath, resolveDotSegments } from '../providers/route-path.js';
import { DroppedToolsByServer, type ServerDroppedTools } from './server-dropped-tools.js';
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
  readonly lists = new OutstandingLists();
  readonly memory: ToolListMemory;

  /** `server`: what the server's sessions learnt of its dropped tools, shared by all of them. */
  constructor(server?: ServerDroppedTools) {
    this.memory = new ToolListMemory(server);
  }
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
  private readonly sessions = new BoundedMemories((key) => new McpHttpSession(this.servers.of(serverKey(key))));

  /**
   * The session a request belongs to: `endpoint` the server's host and path (folded as servers route it, see
   * foldedEndpoint: `h/MCP/`, `h/mc%70`, `h/mcp;jsessionid=x` are `h/mcp`), `sessionId` its Mcp-Session-Id, if any.
   */
  session(endpoint: string, sessionId: string | undefined): McpHttpSession {
    return this.sessions.get(sessionKey(endpoint, sessionId));
  }

  /** A DELETE ended the session: nothing of it is needed any more. */
  end(endpoint: string, sessionId: string | undefined): void {
    this.sessions.forget(sessionKey(endpoint, sessionId));
  }
}

function sessionKey(endpoint: string, sessionId: string | undefined): string {
  return JSON.stringify([foldedEndpoint(endpoint), sessionId ?? null]);
}

/** Control bytes: origins strip them, so `/mcp%00` may reach `/mcp`. */
// eslint-disable-next-line no-control-regex
const CONTROL_BYTES = /[\u0000-\u001f\u007f]/g;

/**
 * The endpoint as one server may see it. Servers route leniently: uvicorn decodes `/mc%70`, Tomcat and Jetty drop
 * `;jsessionid=x`, some trim trailing blanks, dots or slashes, or ignore letter case. Every such spelling of `h/mcp` is
 * one key, or a client could call a tool dropped from the lists of `h/mcp` at `h/mc%70`, whose memory would be empty.
 * The fold reads the path the loosest way an origin might (every escape decoded, control bytes dropped, each segment
 * loosened as the route look-alike checks do, empty and dot segments resolved): folding too much only merges two
 * servers' memories, so a tool dropped at one is refused at the other too, the safe direction. Folded here rather than
 * by each caller, so no caller can forget it. The root is `h/` (`h` is the same).
 */
function foldedEndpoint(endpoint: string): string {
  const slash = endpoint.indexOf('/');
  const host = (slash === -1 ? endpoint : endpoint.slice(0, slash)).toLowerCase();
  const path = slash === -1 ? '/' : endpoint.slice(slash);
  const loosened = looseRoutablePath(decodedUntilStable(path).replace(/\\/g, '/').replace(CONTROL_BYTES, ''));
  return `${host}/${resolveDotSegments(loosened.split('/')).join('/')}`;
}

/** The server (its endpoint, as the session key spells it) of a session key. */
function serverKey(sessionKey: string): string {
  return (JSON.parse(sessionKey) as [string, string | null])[0];
}

/** `1` and `"1"` are different JSON-RPC ids. */
function idKey(id: JsonRpcId): string {
  return JSON.stringify(id);
}
