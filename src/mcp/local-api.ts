import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { readRequestBody, RequestBodyError } from '../proxy/request-body.js';
import {
  DecideRequestSchema, MCP_DECIDE_PATH, MCP_TOOLS_PATH, MCP_WITHHELD_LIST_PATH, MCP_WRAPPER_HEADER, PreviousWithheldListRequestSchema, ToolsRequestSchema,
  WithheldListRequestSchema, type WithheldListRequest,
} from './decision-protocol.js';
import { withheldFromPreviousError } from './previous-withheld-list.js';
import type { StdioDecisions } from './stdio-decisions.js';

/**
 * The agent's loopback endpoints for the stdio wrapper (POST /mcp/decide, /mcp/tools, /mcp/withheld-list). The
 * caller has already checked the Host header is a loopback name. Here: only POST, only JSON, only with the wrapper's
 * header, so a web page cannot drive decisions or fill the audit trail (see decision-protocol.ts).
 */

/** A tools/call may carry a large argument (a file's content); the guardrails bound what they read. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function isMcpLocalPath(urlPath: string): boolean {
  return urlPath === MCP_DECIDE_PATH || urlPath === MCP_TOOLS_PATH || urlPath === MCP_WITHHELD_LIST_PATH;
}

export function createMcpLocalApi(decisions: StdioDecisions, onError: (err: unknown) => void): (req: IncomingMessage, res: ServerResponse, urlPath: string) => void {
  return (req, res, urlPath) => {
    handle(decisions, req, res, urlPath).catch((err: unknown) => {
      onError(err);
      reply(res, 500, { error: `Bifrost Edge could not decide this MCP request (${(err as Error).message}).` });
    });
  };
}

async function handle(decisions: StdioDecisions, req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
  if (req.method !== 'POST') return refuse(req, res, 405, `${urlPath} only answers POST.`);
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? '').trim())) return refuse(req, res, 415, `${urlPath} only accepts application/json.`);
  if (req.headers[MCP_WRAPPER_HEADER] === undefined) return refuse(req, res, 403, `${urlPath} answers only the Bifrost Edge MCP wrapper (header ${MCP_WRAPPER_HEADER}).`);

  let raw: Buffer;
  try {
    raw = await readRequestBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof RequestBodyError) return reply(res, err.edge.status, { error: err.edge.message });
    throw err;
  }
  if (urlPath === MCP_DECIDE_PATH) {
    const input = parse(DecideRequestSchema, raw);
    if ('error' in input) return reply(res, 400, input);
    return reply(res, 200, await decisions.decideCall(input.value));
  }
  if (urlPath === MCP_WITHHELD_LIST_PATH) {
    const input = withheldListReport(raw);
    if ('error' in input) return reply(res, 400, input);
    await decisions.recordWithheldList(input.value);
    return reply(res, 200, {});
  }
  const input = parse(ToolsRequestSchema, raw);
  if ('error' in input) return reply(res, 400, input);
  return reply(res, 200, await decisions.visibleTools(input.value));
}

/**
 * A withheld-list report, in this release's body or the previous release's (a wrapper not yet updated runs beside this
 * agent): the latter is read only when its error is the agent's own wording of a reason (withheldFromPreviousError).
 * Refused, the answer is the current body's problem, which is what a wrapper should send.
 */
function withheldListReport(raw: Buffer): { value: WithheldListRequest } | { error: string } {
  const current = parse(WithheldListRequestSchema, raw);
  if (!('error' in current)) return current;
  const previous = parse(PreviousWithheldListRequestSchema, raw);
  if ('error' in previous) return current;
  const { server, client, error } = previous.value;
  const withheld = withheldFromPreviousError(server.name, error);
  if (withheld === undefined) {
    return { error: `${current.error} (read as the previous release's body, its error is not the one Bifrost Edge words for a tool list withheld unread)` };
  }
  return { value: { server, ...(client ? { client } : {}), withheld } };
}

function parse<S extends z.ZodType>(schema: S, raw: Buffer): { value: z.output<S> } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { error: 'The body is not valid JSON.' };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { error: `The body does not match the MCP decision protocol: ${result.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}` };
  return { value: result.data };
}

/** Refused before reading: drain the body so the connection stays usable. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  req.resume();
  reply(res, status, { error: message });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
