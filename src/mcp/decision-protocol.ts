import { z } from 'zod';

/**
 * The loopback protocol between `bifrost-edge mcp wrap` and the running agent: the wrapper asks, the agent's
 * enforcer, guardrails and audit trail decide. One schema per message, shared by both ends.
 *
 * Cross-site requests from a browser page are refused: the agent requires a JSON content type and the
 * custom header below, and a page can send neither to another origin without a CORS preflight, which the
 * agent never grants. The loopback Host check of the local endpoints still applies (DNS rebinding).
 */

export const MCP_DECIDE_PATH = '/mcp/decide';
export const MCP_TOOLS_PATH = '/mcp/tools';
export const MCP_WITHHELD_LIST_PATH = '/mcp/withheld-list';
export const MCP_WRAPPER_HEADER = 'x-bifrost-edge-mcp-wrapper';

/**
 * Bounds of what the agent reads. The wrapper keeps within them (`commandForAgent`, and tool lists it
 * cannot ask about are withheld): a question the agent refuses as malformed is a wrapper bug, never a
 * reason to let a call or a list through.
 */
export const MAX_COMMAND_ARG_CHARS = 10_000;
export const MAX_COMMAND_ARGS = 1000;
export const MAX_TOOL_NAME_CHARS = 1000;
export const MAX_TOOLS = 10_000;

/**
 * Every message tolerates fields it does not know (dropped on reading, never refused): a wrapper and an agent of
 * different versions run side by side until both are updated, and a new optional field (as `definitions` was) must
 * not turn every question of a newer wrapper into a 400 from an older agent, or every answer of a newer agent into
 * a protocol error for an older wrapper.
 */

/** The wrapped server: the admin's `--name` (its MCP client name in policy) and its command line. */
export const WrappedServerSchema = z.object({
  name: z.string().min(1).max(200),
  command: z.array(z.string().max(MAX_COMMAND_ARG_CHARS)).min(1).max(MAX_COMMAND_ARGS),
});

/** The MCP client app, as its `initialize` request introduced itself (`clientInfo`), for attribution. */
export const McpClientInfoSchema = z.object({
  name: z.string().max(200),
  version: z.string().max(100).optional(),
});

/** POST /mcp/decide: one `tools/call` request, before the server sees it. */
export const DecideRequestSchema = z.object({
  server: WrappedServerSchema,
  client: McpClientInfoSchema.optional(),
  /** The JSON-RPC request exactly as the client sent it. */
  message: z.record(z.string(), z.unknown()),
});

export const EdgeRefusalSchema = z.object({
  status: z.number().int(),
  type: z.string(),
  message: z.string(),
});

export const DecideResponseSchema = z.discriminatedUnion('action', [
  /** Send it on: unchanged, or `message` instead (guardrails redacted part of the arguments). */
  z.object({ action: z.literal('forward'), message: z.unknown().optional() }),
  /** Do not send it: answer the client with this error. */
  z.object({ action: z.literal('refuse'), error: EdgeRefusalSchema }),
]);

/**
 * POST /mcp/tools: the tool names a server offers (`tools/list`); the answer is those the user may run.
 * `definitions`: the listed tools as the server sent them (those with a name in `tools`), for the guardrails; a
 * wrapper of an earlier version sends none, and its lists are filtered, not scanned. `paged`: the list is one page of
 * several (asked with a cursor, or naming a next one): a page whose every tool offends is shown empty, not withheld.
 */
export const ToolsRequestSchema = z.object({
  server: WrappedServerSchema,
  client: McpClientInfoSchema.optional(),
  tools: z.array(z.string().max(MAX_TOOL_NAME_CHARS)).max(MAX_TOOLS),
  definitions: z.array(z.unknown()).max(MAX_TOOLS).optional(),
  paged: z.boolean().optional(),
});

/**
 * `allowed`: the names the user may run. Answering `definitions`, also `shown` when the guardrails redacted (the
 * allowed tools' definitions as the client may see them), or `refusal` when they withheld the list.
 */
export const ToolsResponseSchema = z.object({
  allowed: z.array(z.string()),
  shown: z.array(z.unknown()).optional(),
  refusal: EdgeRefusalSchema.optional(),
});

/**
 * Why the wrapper withheld a list unread, as a code and a number only: the agent words the error and its audit record
 * itself (toolListWithheldError), so a local process posting here cannot write records of its own choosing (another
 * status, error type or message). `count`: how many tools the list offered; `index`: the tool nested too deep. A
 * server message is at most 256 MB (the wrapper's bound), so it cannot list more tools than that.
 */
export const WithheldUnreadSchema = z.discriminatedUnion('reason', [
  z.object({ reason: z.literal('too_many_tools'), count: z.number().int().min(MAX_TOOLS + 1).max(256 * 1024 * 1024) }),
  z.object({ reason: z.literal('too_deep'), index: z.number().int().min(0).max(MAX_TOOLS - 1) }),
]);

/**
 * POST /mcp/withheld-list: a tool list the wrapper withheld without asking about it, because it could not be put as a
 * question the agent reads (more than MAX_TOOLS tools, nested deeper than the agent reads), so that it is audited as
 * every other withheld list is. Answered `{}`; an agent older than this message answers 404, and the list is withheld
 * all the same. A body in the previous release's shape (PreviousWithheldListRequestSchema) is read as this one when
 * its error is the one the agent words itself for a reason; any other body is refused (400): the wrapper logs it, and
 * the list is withheld.
 */
export const WithheldListRequestSchema = z.object({
  server: WrappedServerSchema,
  client: McpClientInfoSchema.optional(),
  withheld: WithheldUnreadSchema,
});

/**
 * POST /mcp/withheld-list as the previous release's wrapper sends it: `error`, the error its client got, instead of
 * `withheld`. Its text is the poster's, so the agent never records it: it takes the reason and number it names only
 * when the whole error is the agent's own wording of them (previous-withheld-list.ts), and refuses the body otherwise.
 */
export const PreviousWithheldListRequestSchema = z.object({
  server: WrappedServerSchema,
  client: McpClientInfoSchema.optional(),
  error: EdgeRefusalSchema.extend({ message: z.string().max(10_000) }),
});

export const WithheldListResponseSchema = z.object({});

export type WrappedServer = z.output<typeof WrappedServerSchema>;
export type McpClientInfo = z.output<typeof McpClientInfoSchema>;
export type DecideRequest = z.output<typeof DecideRequestSchema>;
export type DecideResponse = z.output<typeof DecideResponseSchema>;
export type EdgeRefusal = z.output<typeof EdgeRefusalSchema>;
export type ToolsRequest = z.output<typeof ToolsRequestSchema>;
export type ToolsResponse = z.output<typeof ToolsResponseSchema>;
export type WithheldListRequest = z.output<typeof WithheldListRequestSchema>;
export type WithheldUnread = z.output<typeof WithheldUnreadSchema>;
export type WithheldListResponse = z.output<typeof WithheldListResponseSchema>;
