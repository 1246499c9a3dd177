import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { IncomingHttpHeaders } from 'node:http';
import { isJsonRpcId, isJsonRpcRequest, isJsonRpcResponse, type JsonRpcId } from '../providers/mcp-jsonrpc.js';

/**
 * A remote MCP server's answer to `tools/list`, reached through the proxy, keeps only the tools the
 * key lets the user run, as the stdio wrapper does for local servers: a model is never offered a tool
 * whose call Edge would refuse. Streamable HTTP answers a POST with JSON or with an SSE stream; both
 * are handled, and everything that is not such an answer passes byte for byte.
 */

export interface ToolListFilterOptions {
  /** Ids of the `tools/list` requests in the POST this answers (only their responses are filtered). */
  listIds: readonly JsonRpcId[];
  /** Which of these tool names the user may run. */
  visible: (tools: string[]) => string[];
  /** A JSON answer longer than this passes unfiltered (calls are still decided one by one). */
  maxJsonBytes: number;
  /** Told which tools were left out of a list. */
  onHidden?: (hidden: string[]) => void;
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
  if (!isJsonRpcResponse(message) || !isJsonRpcId(message.id) || !options.listIds.some((id) => id === message.id)) return undefined;
  const result = message.result as { tools?: unknown } | null | undefined;
  if (result === null || typeof result !== 'object' || !Array.isArray(result.tools)) return undefined;
  const tools = result.tools as unknown[];
  const allowed = new Set(options.visible(tools.map(toolName).filter((name): name is string => name !== undefined)));
  const kept = tools.filter((tool) => allowed.has(toolName(tool) ?? ''));
  if (kept.length === tools.length) return undefined;
  options.onHidden?.(tools.filter((tool) => !kept.includes(tool)).map((tool) => toolName(tool) ?? '?'));
  return { ...message, result: { ...result, tools: kept } };
}

/** A stream that filters the answer's tool lists, or undefined when the answer cannot hold one we can read. */
export function createToolListFilter(headers: IncomingHttpHeaders, options: ToolListFilterOptions): Transform | undefined {
  const encoding = String(headers['content-encoding'] ?? 'identity').toLowerCase();
  if (options.listIds.length === 0 || encoding !== 'identity') return undefined;
  const type = String(headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/json')) return new JsonAnswerFilter(options);
  if (type.startsWith('text/event-stream')) return new EventStreamFilter(options);
  return undefined;
}

/** A JSON answer: held whole (it is one message or one batch), then sent filtered or as it came. */
class JsonAnswerFilter extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  private passing = false;

  constructor(private readonly options: ToolListFilterOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.passing) return callback(null, chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.options.maxJsonBytes) {
      this.passing = true;
      const held = Buffer.concat(this.chunks);
      this.chunks = [];
      return callback(null, held);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.passing) return callback();
    const original = Buffer.concat(this.chunks);
    const filtered = filterToolListMessage(parseJson(original.toString('utf8')), this.options);
    callback(null, filtered === undefined ? original : Buffer.from(JSON.stringify(filtered)));
  }
}

/**
 * An SSE answer, event by event as it arrives: an event whose data is a tools/list response is
 * written again with the filtered message; every other event keeps its exact bytes.
 */
class EventStreamFilter extends Transform {
  private pending = '';
  /** A character split across two chunks is completed before it is read. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly options: ToolListFilterOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending += this.decoder.write(chunk);
    let out = '';
    for (let end = eventEnd(this.pending); end >= 0; end = eventEnd(this.pending)) {
      out += this.rewrite(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
    }
    callback(null, out.length > 0 ? Buffer.from(out) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    // An unfinished last event is not dispatched by SSE readers anyway; it passes as it came.
    this.pending += this.decoder.end();
    callback(null, this.pending.length > 0 ? Buffer.from(this.pending) : undefined);
  }

  /** `block`: one whole event, blank line included. */
  private rewrite(block: string): string {
    const lines = block.split(/\r\n|\r|\n/);
    const data = lines.filter((line) => line === 'data' || line.startsWith('data:')).map((line) => line.slice(5).replace(/^ /, ''));
    if (data.length === 0) return block;
    const filtered = filterToolListMessage(parseJson(data.join('\n')), this.options);
    if (filtered === undefined) return block;
    // The other fields (event, id, retry) stay in their places; the data lines become one.
    const kept = lines.filter((line) => line !== '' && line !== 'data' && !line.startsWith('data:'));
    return `${[...kept, `data: ${JSON.stringify(filtered)}`].join('\n')}\n\n`;
  }
}

/**
 * Where the first complete event of `text` ends (just past its blank line), or -1. A CR at the very
 * end may be the first half of a CRLF, so it does not end anything yet.
 */
function eventEnd(text: string): number {
  const lineBreak = /\r\n|\r|\n/g;
  let lineStart = 0;
  for (let match = lineBreak.exec(text); match; match = lineBreak.exec(text)) {
    if (match[0] === '\r' && match.index === text.length - 1) return -1;
    const end = match.index + match[0].length;
    if (match.index === lineStart) return end;
    lineStart = end;
  }
  return -1;
}

/** A listed tool's name, or undefined when the server sent something without one. */
export function toolName(tool: unknown): string | undefined {
  const name = (tool as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
