import { edgeError, type EdgeError } from '../edge-error.js';
import {
  isJsonRpcId, isJsonRpcRequest, isJsonRpcResponse, jsonRpcErrorResponse, jsonRpcParseError, type JsonRpcErrorResponse, type JsonRpcId,
} from '../providers/mcp-jsonrpc.js';
import { foldedKeyMessage } from '../providers/json-body.js';
import { findFoldedKey } from '../providers/json-key-folding.js';
import { calledTool } from '../providers/mcp-messages.js';
import type { AgentAnswer, AgentDecisionClient } from './agent-client.js';
import { MAX_TOOL_NAME_CHARS, MAX_TOOLS, type McpClientInfo, type ToolsResponse, type WithheldUnread, type WrappedServer } from './decision-protocol.js';
import { MAX_READ_NESTING } from '../providers/extraction.js';
import { nestsDeeperThan } from '../util/json-nesting.js';
import { keepAllowedTools, listedTools, toolListWithheldError, toolNames } from './tool-list-filter.js';
import { withheldUnreadReason } from './withheld-unread-reason.js';

/**
 * What the stdio wrapper does with each message, apart from moving bytes:
 * - client → server: a `tools/call` is decided by the agent before the server sees it. Refused: the client
 *   gets a JSON-RPC error with Edge's message, and the server gets nothing. Redacted: the server gets the
 *   agent's copy. No agent: refused (Edge not running), never let through unchecked. Lines that are not
 *   JSON are refused too: a server with a laxer parser could read a tool call in them that Edge could not.
 * - server → client: the answer to a `tools/list` lists only the tools the key lets the user run, and the agent's
 *   guardrails read what it says of them (tool-list-guardrails.ts): a list they block becomes a JSON-RPC error,
 *   one they redact is relayed redacted.
 *
 * The server gets every client message written again from what Edge parsed, never the client's bytes: a
 * server that splits lines elsewhere (Node's readline and Python's universal newlines end a line at a lone
 * `\r`, which JSON reads as whitespace) or keeps the first of duplicate keys (JSON.parse keeps the last)
 * could otherwise read a tool call in a message Edge read as something else. (Numbers beyond a double's
 * precision are rounded, as every JavaScript MCP peer reads them anyway.) Server messages are relayed byte
 * for byte unless a tool list loses tools, or is withheld (more tools than Edge checks, or the agent
 * refused the wrapper's question): then the client gets a JSON-RPC error in its place.
 */

export interface Relayed {
  /** Bytes for the server: the messages as Edge read them (or as the agent redacted them), serialized again. */
  toServer?: Buffer;
  /** Bytes for the client: the wrapper's own answer (refusals) or the server's (possibly filtered). */
  toClient?: Buffer;
}

export interface StdioGovernorOptions {
  server: WrappedServer;
  agent: AgentDecisionClient;
  /** One line for the wrapper's stderr (never stdout: that is the client's JSON-RPC stream). */
  log: (line: string) => void;
}

/**
 * Pending `tools/list` requests tracked at most; a server that never answers must not grow the map. Past
 * that, new ones are refused: forgetting one in flight would let its answer through unfiltered.
 */
const MAX_PENDING_LISTS = 1000;

export class StdioGovernor {
  private clientInfo: McpClientInfo | undefined;
  /** Unanswered `tools/list` requests by id, counted: a client may reuse an id before the answer comes. */
  private readonly pendingLists = new Map<string, number>();
  private pendingListCount = 0;
  /** Pending `tools/list` requests that named a cursor: their answers are pages of a longer list. */
  private readonly pagedLists = new Set<string>();
  private toldListUnfiltered = false;

  constructor(private readonly options: StdioGovernorOptions) {}

  async fromClient(line: Buffer): Promise<Relayed> {
    const parsed = parseJson(line);
    if (!parsed.ok) {
      this.options.log(`refused a line from the MCP client that is not JSON (${line.length} bytes); the server did not get it`);
      return { toClient: serialize(jsonRpcParseError('Bifrost Edge could not read this message as JSON, so it was not sent to the MCP server.')) };
    }
    // Written again from what Edge parsed, a message keeps both `name` and `NAME`; a Go server (case-insensitive
    // field names, the last one winning) would run the tool Edge did not check.
    const folded = findFoldedKey(parsed.value);
    if (folded !== undefined) {
      this.options.log(`refused a message from the MCP client whose keys differ only in letter case (${line.length} bytes); the server did not get it`);
      const id = isJsonRpcRequest(parsed.value) ? parsed.value.id : null;
      return { toClient: serialize(jsonRpcErrorResponse(id, edgeError(400, 'invalid_request', foldedKeyMessage(`the message to MCP server '${this.options.server.name}'`, folded)))) };
    }
    const messages = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
    const forwarded: unknown[] = [];
    const replies: JsonRpcErrorResponse[] = [];
    for (const message of messages) {
      this.noteClientMessage(message);
      if (isJsonRpcRequest(message) && message.method === 'tools/list' && !this.trackList(message.id)) {
        this.options.log(`refused a tools/list request: ${MAX_PENDING_LISTS} are waiting for '${this.options.server.name}' to answer`);
        replies.push(jsonRpcErrorResponse(message.id, edgeError(503, 'tool_list_unchecked',
          `Bifrost Edge did not send this tool list request to '${this.options.server.name}': ${MAX_PENDING_LISTS} tool lists are already waiting for its answer, and Edge checks every list it passes on. Try again once the server answers; if it never does, restart it.`)));
        continue;
      }
      if (isJsonRpcRequest(message) && message.method === 'tools/list' && namesCursor(message.params)) this.pagedLists.add(idKey(message.id));
      if (calledTool(message) === undefined) {
        forwarded.push(message);
        continue;
      }
      const outcome = await this.decideCall(message as Record<string, unknown>);
      if (outcome.action === 'refuse') {
        if (isJsonRpcRequest(message)) replies.push(jsonRpcErrorResponse(message.id, outcome.error));
      } else {
        forwarded.push(outcome.message ?? message);
      }
    }
    const batch = Array.isArray(parsed.value);
    return {
      // Serialized again even when unchanged: the server must read the message Edge read (see above).
      ...(forwarded.length > 0 ? { toServer: serialize(batch ? forwarded : forwarded[0]) } : {}),
      ...(replies.length > 0 ? { toClient: serialize(batch ? replies : replies[0]) } : {}),
    };
  }

  async fromServer(line: Buffer): Promise<Relayed> {
    if (this.pendingListCount === 0) return { toClient: line };
    const parsed = parseJson(line);
    // Not JSON: the server's problem, relayed as it is for the client to report.
    if (!parsed.ok) return { toClient: line };
    const batch = Array.isArray(parsed.value);
    const messages = batch ? (parsed.value as unknown[]) : [parsed.value];
    let changed = false;
    const relayed: unknown[] = [];
    for (const message of messages) {
      const replacement = await this.filterToolList(message);
      changed ||= replacement !== undefined;
      relayed.push(replacement ?? message);
    }
    return { toClient: changed ? serialize(batch ? relayed : relayed[0]) : line };
  }

  /** A line over the size bound: it cannot be read, so it cannot be checked, so it is not sent. */
  oversizeFromClient(bytes: number): Relayed {
    this.options.log(`refused a ${bytes}-byte message from the MCP client: it is over the size Bifrost Edge inspects; the server did not get it`);
    return { toClient: serialize(jsonRpcErrorResponse(null, edgeError(413, 'request_too_large', `This MCP message (${bytes} bytes) is larger than Bifrost Edge inspects, so it was not sent to '${this.options.server.name}'. Send less data in one tool call.`))) };
  }

  private noteClientMessage(message: unknown): void {
    if (isJsonRpcRequest(message) && message.method === 'initialize') this.clientInfo = readClientInfo(message.params);
  }

  /** Counts a `tools/list` request in; false when as many as tracked are already waiting. */
  private trackList(id: JsonRpcId): boolean {
    if (this.pendingListCount >= MAX_PENDING_LISTS) return false;
    const key = idKey(id);
    this.pendingLists.set(key, (this.pendingLists.get(key) ?? 0) + 1);
    this.pendingListCount++;
    return true;
  }

  /** Counts the answer to a `tools/list` request out; false when none with this id is waiting. */
  private answeredList(id: JsonRpcId): boolean {
    const key = idKey(id);
    const waiting = this.pendingLists.get(key);
    if (waiting === undefined) return false;
    if (waiting > 1) this.pendingLists.set(key, waiting - 1);
    else this.pendingLists.delete(key);
    this.pendingListCount--;
    return true;
  }

  private async decideCall(message: Record<string, unknown>): Promise<{ action: 'forward'; message?: unknown } | { action: 'refuse'; error: EdgeError }> {
    const { server } = this.options;
    const tool = calledTool(message) ?? '?';
    const answer = await this.options.agent.decide({ server, ...(this.clientInfo ? { client: this.clientInfo } : {}), message });
    if (!answer.ok) {
      const bug = answer.problem === 'rejected' ? ' This is a bug in bifrost-edge mcp wrap; please report it.' : '';
      this.options.log(`refused the call of tool '${tool}': ${answer.reason}.${bug}`);
      return { action: 'refuse', error: noDecisionError(answer, server.name, tool) };
    }
    if (answer.value.action === 'refuse') {
      this.options.log(`Bifrost Edge refused the call of tool '${tool}' (${answer.value.error.type})`);
      return { action: 'refuse', error: answer.value.error };
    }
    return answer.value.message !== undefined ? { action: 'forward', message: answer.value.message } : { action: 'forward' };
  }

  /**
   * For the answer to a pending `tools/list`: the answer with only the tools the key allows, or an error
   * in its place when Edge cannot check the list. Undefined when `message` is relayed as it is.
   */
  private async filterToolList(message: unknown): Promise<unknown> {
    if (!isJsonRpcResponse(message) || !isJsonRpcId(message.id) || !this.answeredList(message.id)) return undefined;
    const askedForPage = this.pagedLists.delete(idKey(message.id));
    const tools = listedTools(message);
    if (tools === undefined) return undefined;
    const { server } = this.options;
    const withhold = (reason: string) => jsonRpcErrorResponse(message.id as JsonRpcId, toolListWithheldError(`'${server.name}'`, reason));
    if (tools.length > MAX_TOOLS) {
      this.options.log(`withheld the tool list of '${server.name}': it offers ${tools.length} tools, more than the ${MAX_TOOLS} Bifrost Edge checks`);
      return this.withheldUnread(message.id, { reason: 'too_many_tools', count: tools.length });
    }
    // Deeper than the agent reads, a definition would be refused there; deeper still, it could not even be written
    // into the question (JSON.stringify overflows the stack). Either way the list is withheld, never relayed unread.
    const tooDeep = tools.findIndex((tool) => nestsDeeperThan(tool, MAX_READ_NESTING));
    if (tooDeep >= 0) {
      this.options.log(`withheld the tool list of '${server.name}': tools[${tooDeep}] is nested more than ${MAX_READ_NESTING} levels deep, deeper than Bifrost Edge reads`);
      return this.withheldUnread(message.id, { reason: 'too_deep', index: tooDeep });
    }
    const names = toolNames(tools);
    // Names the agent does not take are never allowed below, so those tools are withheld, not shown unchecked.
    const checkable = names.filter((name) => name.length <= MAX_TOOL_NAME_CHARS);
    // Sent whole for the guardrails (the agent scans those it allows, and names them by their place in this list).
    const paged = askedForPage || (message.result as { nextCursor?: unknown }).nextCursor !== undefined;
    const answer = await this.askVisibleTools(checkable, tools, paged);
    if (!answer.ok && answer.problem === 'rejected') {
      this.options.log(`withheld the tool list of '${server.name}': the agent refused the wrapper's question (${answer.reason}). This is a bug in bifrost-edge mcp wrap; please report it.`);
      return withhold('the wrapper could not ask Bifrost Edge about it (a bug; the log of this MCP server says more)');
    }
    if (!answer.ok && answer.problem === 'failed') {
      // The agent runs but gave no answer: the list is not shown unchecked (only a stopped Edge lets it through).
      this.options.log(`withheld the tool list of '${server.name}': ${answer.reason}`);
      return withhold(`Bifrost Edge could not answer about it (${answer.reason})`);
    }
    if (!answer.ok) {
      // Calls are still refused without the agent; the list only saves the model a refused attempt.
      if (!this.toldListUnfiltered) this.options.log(`listing '${server.name}' tools unfiltered: ${answer.reason}; their calls are refused until Bifrost Edge answers`);
      this.toldListUnfiltered = true;
      return undefined;
    }
    this.toldListUnfiltered = false;
    const tooLong = names.length - checkable.length;
    if (tooLong > 0) {
      this.options.log(`withheld ${tooLong} tool${tooLong === 1 ? '' : 's'} of '${server.name}' whose name${tooLong === 1 ? ' is' : 's are'} longer than the ${MAX_TOOL_NAME_CHARS} characters Bifrost Edge checks`);
    }
    if (answer.value.refusal !== undefined) {
      this.options.log(`Bifrost Edge withheld the tool list of '${server.name}' (${answer.value.refusal.type})`);
      return jsonRpcErrorResponse(message.id, answer.value.refusal);
    }
    // The allowed tools as the guardrails let the client see them (redacted), when the agent scanned them.
    if (answer.value.shown !== undefined) return { ...message, result: { ...(message.result as object), tools: answer.value.shown } };
    return keepAllowedTools(message, tools, new Set(answer.value.allowed))?.message;
  }

  /**
   * The error answering list `id`, which the wrapper withholds without asking the agent (it could not put the list as
   * a question); the agent is told, so the list is in the audit trail as every withheld list is. Withheld all the same
   * when the agent cannot be told (not running, older than this message).
   */
  private async withheldUnread(id: JsonRpcId, withheld: WithheldUnread): Promise<JsonRpcErrorResponse> {
    const { server, agent } = this.options;
    const error = toolListWithheldError(`'${server.name}'`, withheldUnreadReason(withheld));
    // Only why: the agent words the record itself, the same as this error.
    const told = await agent.reportWithheldList?.({ server, ...(this.clientInfo ? { client: this.clientInfo } : {}), withheld });
    if (told !== undefined && !told.ok && told.problem !== 'not_running') this.options.log(`could not have Bifrost Edge record the withheld tool list of '${server.name}': ${told.reason}`);
    return jsonRpcErrorResponse(id, error);
  }

  /**
   * Asks the agent which tools the user may run, with the definitions for its guardrails. An agent older than this
   * wrapper refuses the unknown `definitions` field (HTTP 400): asked once more without them, its answer filters the
   * list (unscanned, as before) until Edge is restarted on the new version.
   */
  private async askVisibleTools(tools: string[], definitions: unknown[], paged: boolean): Promise<AgentAnswer<ToolsResponse>> {
    const { server } = this.options;
    const question = { server, ...(this.clientInfo ? { client: this.clientInfo } : {}), tools };
    const answer = await this.options.agent.visibleTools({ ...question, definitions, ...(paged ? { paged } : {}) });
    if (answer.ok || answer.problem !== 'rejected') return answer;
    this.options.log(`the running Bifrost Edge did not take the tool definitions of '${server.name}' (${answer.reason}); asked it again for the key's filter only: the guardrails read tool lists once Bifrost Edge is restarted on this version`);
    return this.options.agent.visibleTools(question);
  }
}

/** The refusal when the agent gave no decision: Edge checks every call, so no answer means no call. */
function noDecisionError(answer: Extract<AgentAnswer<unknown>, { ok: false }>, server: string, tool: string): EdgeError {
  if (answer.problem === 'not_running') {
    return edgeError(503, 'edge_not_running',
      `Bifrost Edge is not running on this computer, so the MCP tool '${tool}' of '${server}' was not run: your organization checks every MCP tool call through Edge. Start Bifrost Edge (the tray app, or \`bifrost-edge run\`) and try again.`);
  }
  if (answer.problem === 'rejected') {
    return edgeError(500, 'edge_wrapper_error',
      `Bifrost Edge could not check the MCP tool '${tool}' of '${server}': the agent refused the wrapper's question as malformed, a bug in bifrost-edge mcp wrap, so the tool was not run. Update Bifrost Edge, or report this to your IT helpdesk with the log of this MCP server.`);
  }
  return edgeError(503, 'edge_unavailable',
    `Bifrost Edge could not check the MCP tool '${tool}' of '${server}' (${answer.reason}), so it was not run. Try again; if it keeps failing, restart Bifrost Edge or contact your IT helpdesk.`);
}

function readClientInfo(params: unknown): McpClientInfo | undefined {
  const info = (params as { clientInfo?: { name?: unknown; version?: unknown } } | undefined)?.clientInfo;
  if (typeof info?.name !== 'string') return undefined;
  return { name: info.name.slice(0, 200), ...(typeof info.version === 'string' ? { version: info.version.slice(0, 100) } : {}) };
}

/** Whether a `tools/list` request asks for a page after the first (MCP pagination: `params.cursor`). */
function namesCursor(params: unknown): boolean {
  return typeof params === 'object' && params !== null && (params as { cursor?: unknown }).cursor !== undefined;
}

/** `1` and `"1"` are different JSON-RPC ids. */
function idKey(id: JsonRpcId): string {
  return JSON.stringify(id);
}

function parseJson(line: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(line.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
