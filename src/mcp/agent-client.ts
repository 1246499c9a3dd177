import type { z } from 'zod';
import { readRuntimeFile } from '../runtime-file.js';
import {
  DecideResponseSchema, MCP_DECIDE_PATH, MCP_TOOLS_PATH, MCP_WITHHELD_LIST_PATH, MCP_WRAPPER_HEADER, ToolsResponseSchema, WithheldListResponseSchema,
  type DecideRequest, type DecideResponse, type ToolsRequest, type ToolsResponse, type WithheldListRequest, type WithheldListResponse,
} from './decision-protocol.js';

/**
 * The wrapper's way to the running agent: the agent's runtime file in the data dir says where it listens,
 * read again for every question, so a wrapper started before Edge (at login, by the MCP client) finds it
 * once it runs. No answer means no decision: the caller refuses, it never guesses.
 */

export type AgentAnswer<T> =
  | { ok: true; value: T }
  /**
   * `not_running`: no agent for the data dir, or nothing listening; `rejected`: the agent refused the
   * question as malformed (HTTP 400), a bug in the wrapper; `failed`: it answered, but not usefully.
   */
  | { ok: false; problem: 'not_running' | 'rejected' | 'failed'; reason: string };

export interface AgentDecisionClient {
  decide(input: DecideRequest): Promise<AgentAnswer<DecideResponse>>;
  visibleTools(input: ToolsRequest): Promise<AgentAnswer<ToolsResponse>>;
  /** Tells the agent of a list the wrapper withheld itself, for the audit trail (a stand-in agent may not record). */
  reportWithheldList?(input: WithheldListRequest): Promise<AgentAnswer<WithheldListResponse>>;
}

export function createAgentDecisionClient(options: { dataDir: string; timeoutMs?: number }): AgentDecisionClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const ask = async <S extends z.ZodType>(path: string, input: unknown, schema: S): Promise<AgentAnswer<z.output<S>>> => {
    const runtime = readRuntimeFile(options.dataDir);
    if (!runtime) return { ok: false, problem: 'not_running', reason: `no Bifrost Edge agent is running for the data dir ${options.dataDir}` };
    let body: string;
    try {
      body = JSON.stringify(input);
    } catch (err) {
      // A value nested thousands of levels deep overflows the stack: the agent is there, the question cannot be put.
      return { ok: false, problem: 'failed', reason: `the question could not be written as JSON (${(err as Error).message})` };
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, runtime.proxy), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [MCP_WRAPPER_HEADER]: '1' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      if (cause === 'ECONNREFUSED' || cause === 'ECONNRESET') return { ok: false, problem: 'not_running', reason: `nothing answers at ${runtime.proxy} (${cause})` };
      return { ok: false, problem: 'failed', reason: `the agent at ${runtime.proxy} did not answer (${(err as Error).message})` };
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) return { ok: false, problem: response.status === 400 ? 'rejected' : 'failed', reason: `the agent at ${runtime.proxy} answered HTTP ${response.status}: ${text.slice(0, 300)}` };
    let parsed: z.ZodSafeParseResult<z.output<S>>;
    try {
      parsed = schema.safeParse(JSON.parse(text));
    } catch {
      return { ok: false, problem: 'failed', reason: `the agent at ${runtime.proxy} answered something that is not JSON` };
    }
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: 'failed', reason: `the agent's answer does not match the MCP decision protocol (${parsed.error.message.slice(0, 300)})` };
  };
  return {
    decide: (input) => ask(MCP_DECIDE_PATH, input, DecideResponseSchema),
    visibleTools: (input) => ask(MCP_TOOLS_PATH, input, ToolsResponseSchema),
    reportWithheldList: (input) => ask(MCP_WITHHELD_LIST_PATH, input, WithheldListResponseSchema),
  };
}
