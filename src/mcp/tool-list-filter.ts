import { Transform, type TransformCallback } from 'node:stream';
import { eventData, SseEventTransform } from '../util/sse-event-transform.js';
import { SseToolsKeyScanner } from './sse-tools-key-scanner.js';
import type { IncomingHttpHeaders } from 'node:http';
import { edgeError, type EdgeError } from '../edge-error.js';
import { decodeForInspection, formatBytes, RequestBodyError } from '../proxy/request-body.js';
import { parseJsonText } from '../util/json-text.js';
import { isJsonRpcId, isJsonRpcRequest, isJsonRpcResponse, jsonRpcErrorResponse, refusalFor, type JsonRpcId } from '../providers/mcp-jsonrpc.js';
import type { ToolListVerdict } from './tool-list-guardrails.js';
import type { OutstandingLists } from './mcp-http-sessions.js';

/**
 * A remote MCP server's answer to `tools/list`, reached through the proxy, keeps only the tools the
 * key lets the user run, as the stdio wrapper does for local servers: a model is never offered a tool
 * whose call Edge would refuse. Streamable HTTP answers a POST with JSON or with an SSE stream; both
 * are handled, and everything that is not such an answer passes byte for byte.
 *
 * A successful (2xx) answer Edge cannot check (larger than it reads, compressed in a way it cannot decode,
 * corrupt, not JSON) is withheld: the client gets a JSON-RPC error naming why instead of an unfiltered
 * list. An error status passes as it came.
 *
 * With `check`, the tools a list still shows then go through the guardrails (tool-list-guardrails.ts): a list
 * they block becomes a JSON-RPC error for its request, one they redact is shown redacted.
 *
 * A server may answer a `tools/list` on any stream of its session (the answer to another POST, the GET stream), and
 * the client takes it by its id wherever it comes: with `outstanding`, the session's unanswered list requests are
 * looked for in every answer, not only in the one to the POST that asked (mcp-http-sessions.ts).
 */

export interface ToolListFilterOptions {
  /** Ids of the `tools/list` requests in the POST this answers (their responses are filtered). */
  listIds: readonly JsonRpcId[];
  /** The session's `tools/list` requests still unanswered, from any POST: their responses are filtered too. */
  outstanding?: OutstandingLists;
  /**
   * On an event stream, also filter every response whose result is a tool list by its shape, whatever its id: a
   * backstop for a list whose request Edge no longer tracks. Strict (a result of only `tools`, `nextCursor`, `_meta`,
   * every tool an object with a string name: what an MCP client reads as a list), so no tool's result is rewritten.
   */
  anyListResult?: boolean;
  /** Which of these tool names the user may run. */
  visible: (tools: string[]) => string[];
  /** Largest JSON answer, or SSE event, read to check (decoded size); a larger one is withheld. */
  maxJsonBytes: number;
  /** The POST this answers, parsed: a withheld JSON answer becomes an error for each of its requests. */
  request: unknown;
  /** The server's host, named in the error of a withheld list. */
  server: string;
  /** Told which tools were left out of a list. */
  onHidden?: (hidden: string[]) => void;
  /**
   * The guardrails' verdict on the tools a list shows (after the key's filter), `positions` their places in the
   * server's list, `paged` whether it is one page of several; none: lists are not scanned.
   */
  check?: (tools: unknown[], positions: number[], paged: boolean) => ToolListVerdict;
  /** Told each verdict of `check`, for the exchange's audit record. */
  onChecked?: (verdict: ToolListVerdict) => void;
}

/** Ids of the `tools/list` requests in a JSON-RPC message or batch. */
export function toolListRequestIds(body: unknown): JsonRpcId[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter((m) => isJsonRpcRequest(m) && m.method === 'tools/list').map((m) => (m as { id: JsonRpcId }).id);
}

/**
 * The tools/list response in `message` (or a batch) with the hidden tools removed; undefined when
 * nothing changes.
 */
export function filterToolListMessage(message: unknown, options: ToolListFilterOptions): unknown {
  if (Array.isArray(message)) {
    let changed = false;
    const out = message.map((item) => {
      const filtered = filterToolListMessage(item, options);
      if (filtered === undefined) return item;
      changed = true;
      return filtered;
    });
    return changed ? out : undefined;
  }
  if (!isJsonRpcResponse(message) || !isJsonRpcId(message.id)) return undefined;
  const id = message.id;
  const asked = options.outstanding?.answer(id);
  const byId = asked !== undefined || options.listIds.some((listId) => listId === id);
  if (!byId && !(options.anyListResult === true && isToolListResult(message.result))) return undefined;
  const tools = listedTools(message);
  if (tools === undefined) return undefined;
  const paged = asked?.paged === true || (message.result as { nextCursor?: unknown }).nextCursor !== undefined;
  const filtered = keepAllowedTools(message, tools, new Set(options.visible(toolNames(tools))));
  if (filtered !== undefined) options.onHidden?.(filtered.hidden.map((tool) => toolName(tool) ?? '?'));
  if (options.check === undefined) return filtered?.message;
  const shown = filtered?.message ?? message;
  const hidden = new Set(filtered?.hidden ?? []);
  const positions = tools.flatMap((tool, i) => (hidden.has(tool) ? [] : [i]));
  const verdict = options.check(listedTools(shown) ?? [], positions, paged);
  options.onChecked?.(verdict);
  if (verdict.action === 'withhold') return jsonRpcErrorResponse(message.id, verdict.error);
  return verdict.decision === 'redacted' ? { ...shown, result: { ...(shown.result as object), tools: verdict.tools } } : filtered?.message;
}

/** Keys a `tools/list` result has (MCP's ListToolsResult: the list, the next page's cursor, metadata). */
const LIST_RESULT_KEYS: ReadonlySet<string> = new Set(['tools', 'nextCursor', '_meta']);

/** Whether `result` is a tool list by its shape alone (see `anyListResult`). */
export function isToolListResult(result: unknown): boolean {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return false;
  const tools = (result as { tools?: unknown }).tools;
  return Array.isArray(tools) && Object.keys(result).every((key) => LIST_RESULT_KEYS.has(key))
    && tools.every((tool) => tool !== null && typeof tool === 'object' && !Array.isArray(tool) && toolName(tool) !== undefined);
}

/**
 * Whether JSON text could hold a tool list, without parsing it: a `tools` key, written plainly or with \u escapes.
 * Most events of a long-lived stream hold none. Loose (any escape counts), since a yes only costs parsing an event Edge
 * holds anyway; an event too large to hold is read precisely instead (sse-tools-key-scanner.ts).
 */
export function couldHoldToolList(text: string): boolean {
  return text.includes('"tools"') || text.includes('\\u');
}

/** The tools a `tools/list` response lists; undefined when its result holds no tool array. */
export function listedTools(message: { result?: unknown }): unknown[] | undefined {
  const result = message.result as { tools?: unknown } | null | undefined;
  return result !== null && typeof result === 'object' && Array.isArray(result.tools) ? result.tools as unknown[] : undefined;
}

/**
 * The list response `tools` came from, keeping only the tools whose names `allowed` holds and the rest of
 * its result as it was, with the tools left out; undefined when every tool stays. Shared by the HTTP
 * filter and the stdio wrapper, so both rebuild a list the same way.
 */
export function keepAllowedTools<M extends { result?: unknown }>(message: M, tools: unknown[], allowed: ReadonlySet<string>): { message: M; hidden: unknown[] } | undefined {
  const kept = tools.filter((tool) => allowed.has(toolName(tool) ?? ''));
  if (kept.length === tools.length) return undefined;
  const keptSet = new Set(kept);
  return { message: { ...message, result: { ...(message.result as object), tools: kept } }, hidden: tools.filter((tool) => !keptSet.has(tool)) };
}

/** The names of the listed tools that have one. */
export function toolNames(tools: unknown[]): string[] {
  return tools.map(toolName).filter((name): name is string => name !== undefined);
}

/** The part of the server's answer that says whether it can hold a list. */
export interface ToolListAnswer {
  statusCode?: number | undefined;
  headers: IncomingHttpHeaders;
}

/**
 * A stream that filters the answer's tool lists, or undefined when the answer cannot hold one. An error
 * status is the server's own answer (an empty 401 asking to sign in, a proxy's HTML 502): it passes as it
 * came, since withholding it would hide why the request failed, and MCP clients read no list from it
 * (the SDKs' HTTP transports raise an error on any status outside 2xx).
 */
export function createToolListFilter(answer: ToolListAnswer, options: ToolListFilterOptions): Transform | undefined {
  const listsWaiting = options.listIds.length > 0 || (options.outstanding?.size ?? 0) > 0;
  if (!listsWaiting && options.anyListResult !== true) return undefined;
  const status = answer.statusCode ?? 200;
  if (status < 200 || status > 299) return undefined;
  const headers = answer.headers;
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  const type = String(headers['content-type'] ?? '').toLowerCase();
  // A JSON answer is read whole only while a list is waiting: by its shape alone, no list would be taken by a client.
  if (type.startsWith('application/json')) return listsWaiting ? new JsonAnswerFilter(options, encoding === 'identity' ? '' : encoding) : undefined;
  if (type.startsWith('text/event-stream')) {
    const compressed = encoding !== '' && encoding !== 'identity';
    // No list waiting: the shape backstop only reads what it can; a compressed stream passes as it came.
    if (compressed && !listsWaiting) return undefined;
    const filter = new EventStreamFilter(options);
    // Streamed lists are not decompressed (no server sends them so, and Edge asks for plain answers).
    if (compressed) filter.withhold(`it came compressed ("${encoding}") as an event stream`);
    return filter;
  }
  // Streamable HTTP answers a POST in JSON or SSE only; anything else is not a list a client would read.
  return undefined;
}

/** Why a list was withheld → the error its requests get (a gateway-side failure: JSON-RPC internal error). */
function withheldError(options: ToolListFilterOptions, reason: string): EdgeError {
  return toolListWithheldError(options.server, reason);
}

/** The error a withheld tool list is answered with; `server` as the message names it (a host, or 'name'). */
export function toolListWithheldError(server: string, reason: string): EdgeError {
  return edgeError(502, 'tool_list_unchecked',
    `Bifrost Edge withheld the tool list from ${server}: ${reason}, so Edge could not check which tools you may use.`);
}

/**
 * A JSON answer: held whole (it is one message or one batch), decoded if the server compressed it
 * anyway, then sent filtered or as it came, always plain. One Edge cannot check becomes an error for
 * each request of the POST.
 */
class JsonAnswerFilter extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  private withheldReason: string | undefined;

  /** `encoding`: the answer's Content-Encoding, '' when plain. */
  constructor(private readonly options: ToolListFilterOptions, private readonly encoding: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.withheldReason !== undefined) return callback();
    this.size += chunk.length;
    if (this.size > this.options.maxJsonBytes) {
      this.withheldReason = this.options.listIds.length > 0 ? tooLargeReason(this.options) : tooLargeOtherReason(this.options);
      this.chunks = [];
      return callback();
    }
    this.chunks.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.withheldReason !== undefined) return callback(null, this.refusal(this.withheldReason));
    const original = Buffer.concat(this.chunks);
    let plain: Buffer;
    try {
      plain = this.encoding === '' ? original : decodeForInspection(original, this.encoding, this.options.maxJsonBytes);
    } catch (error) {
      return callback(null, this.refusal(undecodableReason(error, this.encoding, this.options)));
    }
    const message = parseJson(plain.toString('utf8'));
    // A client with a laxer parser (NaN, comments) might still read a list in it: what Edge cannot read is withheld.
    if (message === undefined) return callback(null, this.refusal('it is not valid JSON'));
    const filtered = filterToolListMessage(message, this.options);
    callback(null, filtered === undefined ? plain : Buffer.from(JSON.stringify(filtered)));
  }

  private refusal(reason: string): Buffer {
    return Buffer.from(JSON.stringify(refusalFor(this.options.request, withheldError(this.options, reason)) ?? null));
  }
}

function tooLargeReason(options: ToolListFilterOptions): string {
  return `the answer is larger than the ${formatBytes(options.maxJsonBytes)} Edge reads (ask IT to raise proxy.maxRequestBodyBytes)`;
}

/** A POST that listed no tools, answered while one of the session's lists is waiting: it may carry that list. */
function tooLargeOtherReason(options: ToolListFilterOptions): string {
  return `a tool list is waiting for its answer, which may come in this one, and this answer is larger than the ${formatBytes(options.maxJsonBytes)} Edge reads (ask IT to raise proxy.maxRequestBodyBytes)`;
}

function undecodableReason(error: unknown, encoding: string, options: ToolListFilterOptions): string {
  // decodeForInspection words its errors for request bodies: only their type is reused here.
  const type = error instanceof RequestBodyError ? error.edge.type : '';
  if (type === 'request_too_large') return tooLargeReason(options);
  if (type === 'unsupported_content_encoding') return `it came compressed as "${encoding}", which Edge cannot read`;
  return `it says it is compressed as "${encoding}" but is not valid ${encoding} data`;
}

/**
 * An SSE answer, event by event as it arrives: an event whose data is a tools/list response is
 * written again with the filtered message; every other event keeps its exact bytes. Only events that could hold a
 * list (couldHoldToolList) are parsed. An event larger than Edge reads passes unread when its data has no `tools` key
 * (SseToolsKeyScanner, escapes decoded); one that has ends the stream: the lists not answered yet get an error event
 * each, and the rest is dropped.
 */
class EventStreamFilter extends SseEventTransform {
  /** List requests already answered in the stream (a withheld stream still owes the others an answer). */
  private readonly answered = new Set<JsonRpcId>();
  /** Reads the oversize event passing unread for a `tools` key, piece by piece. */
  private oversizeScan = new SseToolsKeyScanner();

  constructor(private readonly options: ToolListFilterOptions) {
    super(options.maxJsonBytes);
  }

  /** Drops the rest of the stream; what is sent instead answers the lists still owed with an error. */
  withhold(reason: string): void {
    this.stop(this.withheldEvents(reason));
  }

  protected override onOversizeEvent(): { then: 'pass-event' } {
    // What has arrived of it is looked at in onPassedText (first), as is the rest as it passes.
    this.oversizeScan = new SseToolsKeyScanner();
    return { then: 'pass-event' };
  }

  protected override onPassedText(text: string): void {
    if (!this.oversizeScan.feed(text)) return;
    this.withhold(`one of its events is larger than the ${formatBytes(this.options.maxJsonBytes)} Edge reads and may hold a tool list (ask IT to raise proxy.maxRequestBodyBytes)`);
  }

  private withheldEvents(reason: string): string {
    const error = withheldError(this.options, reason);
    const owed = this.options.listIds.filter((id) => !this.answered.has(id));
    for (const id of this.options.outstanding?.pending() ?? []) {
      if (!owed.includes(id)) owed.push(id);
      this.options.outstanding?.answer(id);
    }
    // Nothing owed (a stream of the server's own): the client is still told why its stream ended.
    const ids: Array<JsonRpcId | null> = owed.length > 0 ? owed : [null];
    return ids.map((id) => `event: message\ndata: ${JSON.stringify(jsonRpcErrorResponse(id, error))}\n\n`).join('');
  }

  protected override rewrite(block: string): string {
    const data = eventData(block);
    // An error may answer a list request (it is no longer owed one when the stream is withheld).
    if (data === undefined || !(couldHoldToolList(data) || data.includes('"error"'))) return block;
    const message = parseJson(data);
    for (const id of answeredListIds(message, this.options.listIds)) this.answered.add(id);
    const filtered = filterToolListMessage(message, this.options);
    if (filtered === undefined) return block;
    // The other fields (event, id, retry) stay in their places; the data lines become one.
    const kept = block.split(/\r\n|\r|\n/).filter((line) => line !== '' && line !== 'data' && !line.startsWith('data:'));
    return `${[...kept, `data: ${JSON.stringify(filtered)}`].join('\n')}\n\n`;
  }
}

/** The list requests a message (or batch) answers. */
function answeredListIds(message: unknown, listIds: readonly JsonRpcId[]): JsonRpcId[] {
  const messages = Array.isArray(message) ? message : [message];
  return messages.filter((m) => isJsonRpcResponse(m) && isJsonRpcId(m.id) && listIds.includes(m.id)).map((m) => (m as { id: JsonRpcId }).id);
}

/** A listed tool's name, or undefined when the server sent something without one. */
export function toolName(tool: unknown): string | undefined {
  const name = (tool as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The value, or undefined when `text` is not JSON. A byte-order mark first is skipped, as fetch's Response.json() does. */
function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch {
    return undefined;
  }
}
