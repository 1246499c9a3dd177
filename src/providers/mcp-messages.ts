import { BodyShapeError, expectObject, expectString, isJsonObject, optionalField, requiredString, wrongType, type JsonObject } from './body-shape.js';
import { addStringLeaves, addStringsAndKeys, addText, newExtraction, type Extraction, type JsonPath } from './extraction.js';
import { isJsonRpcId } from './mcp-jsonrpc.js';
import type { NormalizedRequest } from './types.js';

/**
 * Reads what an MCP client sends its server (one JSON-RPC message, or a batch) into the normalized view
 * policy and guardrails decide on. Shared by the Streamable HTTP adapter and the stdio wrapper's decisions.
 *
 * - `tools/call` is a tool execution: a `call` tool named `clientName-toolName` (Bifrost's gateway naming)
 *   with `mcpClient` set, and every string of `arguments` as its own `tool_arguments` span, so a
 *   guardrail redacts one argument in place and leaves the others alone. The rest of `params` (`_meta`,
 *   members a later spec adds) reaches the server too, so it is read the same way (as `other`).
 * - `prompts/get` arguments and `completion/complete` values are text the client sends to the server.
 * - Object keys are text as well: a token pasted as a header name is as leaked as one in a value (see
 *   `addStringsAndKeys`).
 * - A response is the client's answer to the server's own request: what the user typed into an elicitation
 *   form, what the client's model wrote for a sampling request, the client's roots (file paths). Every string
 *   of its `result` (or `error`) is read as `input`; the keys are the protocol's or the server's own schema.
 * - Everything else (initialize, list calls, notifications) carries nothing Edge decides on; it is read only
 *   far enough to know it is JSON-RPC.
 */

/** Names a single message by its method (`tools/call`), a response as `response`, and several as `batch`. */
export interface McpReading {
  operation: string;
  extraction: Extraction;
}

export function readMcpBody(body: unknown, client: string): McpReading {
  const x = newExtraction();
  if (Array.isArray(body)) {
    if (body.length === 0) throw new BodyShapeError([], 'must not be an empty batch');
    body.forEach((message, i) => readMessage(x, message, [i], client));
    return { operation: 'batch', extraction: x };
  }
  return { operation: readMessage(x, body, [], client), extraction: x };
}

/** The gateway name of a tool of an MCP client: `github` + `create_issue` → `github-create_issue`. */
export function mcpToolName(client: string, tool: string): string {
  return `${client}-${tool}`;
}

function readMessage(x: Extraction, value: unknown, path: JsonPath, client: string): string {
  const message = expectObject(value, path, 'a JSON-RPC 2.0 message object');
  if (message['jsonrpc'] !== '2.0') throw new BodyShapeError([...path, 'jsonrpc'], 'must be "2.0" (MCP speaks JSON-RPC 2.0)');
  const id = message['id'];
  if (id !== undefined && id !== null && !isJsonRpcId(id)) throw wrongType([...path, 'id'], 'a string or a number', id);
  if (message['method'] === undefined) {
    if (!('result' in message) && !('error' in message)) throw new BodyShapeError(path, 'is neither a request (method) nor a response (result or error)');
    for (const key of ['result', 'error']) addStringLeaves(x, message[key], [...path, key], 'input');
    return 'response';
  }
  const method = requiredString(message, 'method', path);
  const reader = PARAM_READERS[method];
  if (reader) reader(x, expectObject(message['params'], [...path, 'params'], 'an object'), [...path, 'params'], client);
  return method;
}

type ParamReader = (x: Extraction, params: JsonObject, path: JsonPath, client: string) => void;

const PARAM_READERS: Readonly<Record<string, ParamReader>> = {
  'tools/call': (x, params, path, client) => {
    const tool = requiredString(params, 'name', path);
    x.tools.push({ name: mcpToolName(client, tool), kind: 'call', path: [...path, 'name'], mcpClient: client });
    optionalField(params, 'arguments', path, (args, p) => addStringsAndKeys(x, expectObject(args, p), p, 'tool_arguments'));
    for (const [key, value] of Object.entries(params)) {
      // The tool's name is policy's to decide; the arguments were read above.
      if (key === 'name' || key === 'arguments') continue;
      if (!MCP_PARAMS_MEMBERS.has(key)) addText(x, path, key, 'other');
      addStringsAndKeys(x, value, [...path, key], 'other');
    }
  },
  'prompts/get': (x, params, path) => {
    optionalField(params, 'arguments', path, (args, p) => addStringsAndKeys(x, expectObject(args, p), p, 'input'));
  },
  'completion/complete': (x, params, path) => {
    optionalField(params, 'argument', path, (argument, p) => {
      const value = expectObject(argument, p)['value'];
      if (value !== undefined) addText(x, [...p, 'value'], expectString(value, [...p, 'value']), 'input');
    });
  },
};

/** Members of a `tools/call`'s params that MCP defines: their names are not worth a span of their own. */
const MCP_PARAMS_MEMBERS: ReadonlySet<string> = new Set(['name', 'arguments', '_meta']);

/** The normalized request for an MCP message or batch, sent to the MCP client (server) named `client`. */
export function normalizeMcpBody(body: unknown, client: string, options: { stream: boolean }): NormalizedRequest {
  const reading = readMcpBody(body, client);
  return {
    provider: 'mcp',
    adapter: 'mcp',
    operation: reading.operation,
    // MCP traffic names no model: the key's mcp_configs, not its model lists, decide it.
    model: null,
    stream: options.stream,
    texts: reading.extraction.texts,
    tools: reading.extraction.tools,
    inspected: true,
  };
}

/** The tool a single `tools/call` request names, or undefined for anything else. */
export function calledTool(message: unknown): string | undefined {
  if (!isJsonObject(message) || message['method'] !== 'tools/call' || !isJsonObject(message['params'])) return undefined;
  const name = message['params']['name'];
  return typeof name === 'string' ? name : undefined;
}
