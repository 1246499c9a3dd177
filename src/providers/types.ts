import type { EdgeError } from '../edge-error.js';

/** Provider names as Bifrost spells them in `provider/model` strings and provider_configs. */
export type ProviderName =
  | 'openai' | 'anthropic' | 'gemini' | 'groq' | 'mistral' | 'xai' | 'deepseek' | 'openrouter'
  | 'perplexity' | 'azure' | 'copilot' | 'cursor' | 'chatgpt-web' | 'claude-web'
  /** A Model Context Protocol server (JSON-RPC over Streamable HTTP or stdio): governed by a key's mcp_configs. */
  | 'mcp'
  /** A host added to the intercept list by configuration or policy, with no known API shape. */
  | 'custom';

/** A request as the proxy saw it, before any rewrite. `path` includes the query string. */
export interface HttpRequestInfo {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The program that opened the connection, where the OS tells (app governance by executable). */
  process?: string;
}

/** Where a piece of user-controlled text sits inside the JSON body, so guardrails can redact it in place. */
export interface TextSpan {
  /** JSON path as keys and indexes from the body root, e.g. ['messages', 0, 'content']. */
  path: Array<string | number>;
  text: string;
  /**
   * What the text is: a system prompt, a user/assistant message, a tool call's arguments, a tool result, a
   * tool definition the client declares (its description and the strings of its parameter schema), or the
   * schema the answer must follow (structured outputs).
   */
  kind: 'system' | 'user' | 'assistant' | 'tool_arguments' | 'tool_result' | 'tool_definition' | 'output_schema' | 'input' | 'other';
  /**
   * Spans that travel together, unchanged, request after request (the strings of one tool definition, which an
   * agent resends on every turn) share a group: the guardrails remember what the group held as one entry, so a
   * repeated definition costs one hash however many short strings it has. Only a hint for that memory: spans
   * are scanned one by one either way, and two groups given the same name are still scanned correctly.
   */
  group?: string;
}

export interface ToolInfo {
  name: string;
  /** A declared tool, a call the model made, or a result the client sends back. */
  kind: 'definition' | 'call' | 'result';
  path: Array<string | number>;
  /**
   * For MCP protocol traffic: the MCP client (server) name the call belongs to, known from where the request
   * went rather than guessed from `name` (`clientName-toolName`), since client names may contain `-`.
   */
  mcpClient?: string;
}

/** The provider-independent view of an AI request that policy and guardrails decide on. */
export interface NormalizedRequest {
  provider: ProviderName;
  /** Which adapter recognized it (e.g. `openai-compatible`, `anthropic`, `gemini`, `chatgpt-web`). */
  adapter: string;
  /** Short operation name: `chat.completions`, `responses`, `embeddings`, `messages`, `generateContent`, `conversation`, ... */
  operation: string;
  /** Model exactly as the client asked for it, or null when the route carries none. */
  model: string | null;
  stream: boolean;
  texts: TextSpan[];
  tools: ToolInfo[];
  /** False for known routes whose body Edge does not inspect (model listing, file uploads, ...). */
  inspected: boolean;
}

export type ParseResult =
  | { ok: true; request: NormalizedRequest }
  | { ok: false; error: EdgeError };

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** Text for JSON and SSE; bytes for binary framings (a Connect end-of-stream envelope). */
  body: string | Uint8Array;
}
