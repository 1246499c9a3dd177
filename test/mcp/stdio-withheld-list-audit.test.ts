import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/index.js';
import { createAgentDecisionClient } from '../../src/mcp/agent-client.js';
import { MAX_TOOLS, MCP_WRAPPER_HEADER } from '../../src/mcp/decision-protocol.js';
import { StdioGovernor } from '../../src/mcp/stdio-governor.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { loopbackAgents } from '../support/loopback-agents.js';

/**
 * A tool list the stdio wrapper withholds on its own, without asking the agent (more tools than Edge checks, a tool
 * nested deeper than Edge reads), leaves an audit record as every other withheld list does: the wrapper tells the
 * running agent (its real MCP API, on loopback) what the client got instead.
 */

const agents = loopbackAgents('edge-mcp-withheld-');
afterEach(() => agents.closeAll());
const agentAt = agents.at;

/** The agent's real MCP API (no policy bundle, default guardrails), recording into `records`. */
function realAgent(records: ExchangeRecord[]): Promise<string> {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  return agents.real(compiled.policy, records);
}

/** POSTs `body` to the withheld-list endpoint of the agent of `dataDir`, as any local process can; its HTTP status. */
async function postWithheldList(dataDir: string, body: unknown): Promise<number> {
  const runtime = JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { proxy: string };
  const res = await fetch(`${runtime.proxy}/mcp/withheld-list`, { method: 'POST', headers: { 'content-type': 'application/json', [MCP_WRAPPER_HEADER]: '1' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** A wrapper's governor asking the agent of `dataDir`, as a client introduced by `initialize`. */
async function governorFor(dataDir: string, log: string[] = []): Promise<StdioGovernor> {
  const governor = new StdioGovernor({ server: { name: 'srv', command: ['node', 'server.js'] }, agent: createAgentDecisionClient({ dataDir }), log: (line) => log.push(line) });
  await governor.fromClient(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { clientInfo: { name: 'claude-ai', version: '0.1.0' } } })));
  return governor;
}

/** The client's answer to a `tools/list` the server answers with `tools`. */
async function list(governor: StdioGovernor, id: number, tools: unknown[]): Promise<{ error?: { message: string; data: { type: string } } }> {
  await governor.fromClient(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' })));
  const answer = await governor.fromServer(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, result: { tools } })));
  return JSON.parse(answer.toClient!.toString()) as { error?: { message: string; data: { type: string } } };
}

const tooMany = Array.from({ length: MAX_TOOLS + 1 }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' } }));
function deepSchema(levels: number): unknown {
  let schema: unknown = { type: 'string' };
  for (let i = 0; i < levels; i++) schema = { type: 'object', properties: { a: schema } };
  return schema;
}

describe('a tool list the stdio wrapper withholds without asking', () => {
  it('more tools than Edge checks: the client gets the error, and the agent records the list as withheld, once per reason', async () => {
    const records: ExchangeRecord[] = [];
    const governor = await governorFor(await realAgent(records));

    const answer = await list(governor, 1, tooMany);
    expect(answer.error?.data.type).toBe('tool_list_unchecked');
    expect(answer.error?.message).toMatch(/withheld the tool list from 'srv': it offers 10001 tools, more than the 10000 Edge checks/);
    expect(records).toEqual([expect.objectContaining({
      method: 'tools/list', host: 'stdio:srv', path: '/', provider: 'mcp', app: 'claude-ai', decision: 'blocked', via: 'edge',
      status: 502, errorType: 'tool_list_unchecked', message: answer.error?.message, findings: [],
    })]);

    // The client lists again (clients re-list often): the same list withheld for the same reason is not recorded again.
    await list(governor, 2, tooMany);
    expect(records).toHaveLength(1);

    const deep = await list(governor, 3, [{ name: 'ok' }, { name: 'deep', inputSchema: deepSchema(200) }]);
    expect(deep.error?.message).toMatch(/tools\[1\] nests arrays or objects more than 128 levels deep/);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ method: 'tools/list', host: 'stdio:srv', decision: 'blocked', errorType: 'tool_list_unchecked', message: deep.error?.message });
  });

  it('a local process cannot write a record of its choosing: only a reason code and a number are taken, and the agent words the error', async () => {
    const records: ExchangeRecord[] = [];
    const dataDir = await realAgent(records);
    const server = { name: 'github', command: ['/usr/bin/anything'] };
    // The first version's body: the caller's own status, error type and message.
    expect(await postWithheldList(dataDir, { server, error: { status: 200, type: 'budget_exceeded', message: 'forged' } })).toBe(400);
    // Out of bounds: a count Edge would have checked, an index past the tools Edge reads, a long string, an unknown reason.
    expect(await postWithheldList(dataDir, { server, withheld: { reason: 'too_many_tools', count: MAX_TOOLS } })).toBe(400);
    expect(await postWithheldList(dataDir, { server, withheld: { reason: 'too_deep', index: MAX_TOOLS } })).toBe(400);
    expect(await postWithheldList(dataDir, { server, client: { name: 'x'.repeat(5000) }, withheld: { reason: 'too_deep', index: 1 } })).toBe(400);
    expect(await postWithheldList(dataDir, { server, withheld: { reason: 'budget_exceeded', count: 20_000 } })).toBe(400);
    expect(records).toEqual([]);

    // A valid report with the forged fields alongside: those are dropped, the record is Edge's own.
    expect(await postWithheldList(dataDir, {
      server, client: { name: 'cursor' }, withheld: { reason: 'too_many_tools', count: 20_000, status: 200 }, error: { status: 200, type: 'budget_exceeded', message: 'forged' },
    })).toBe(200);
    expect(records).toEqual([expect.objectContaining({
      method: 'tools/list', host: 'stdio:github', decision: 'blocked', via: 'edge', status: 502, errorType: 'tool_list_unchecked', findings: [],
      message: "Bifrost Edge withheld the tool list from 'github': it offers 20000 tools, more than the 10000 Edge checks, so Edge could not check which tools you may use.",
    })]);
  });

  it('an agent older than this message (404) does not record it: the list is withheld all the same, and the wrapper says so', async () => {
    const dataDir = await agentAt((_req, res) => { res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}'); });
    const log: string[] = [];
    const answer = await list(await governorFor(dataDir, log), 1, tooMany);
    expect(answer.error?.data.type).toBe('tool_list_unchecked');
    expect(log.join('\n')).toMatch(/could not have Bifrost Edge record the withheld tool list of 'srv': the agent at .* answered HTTP 404/);
  });

  it('with no agent running, the list is withheld as before, with nothing more in the log than why', async () => {
    const log: string[] = [];
    const answer = await list(await governorFor(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-no-agent-')), log), 1, tooMany);
    expect(answer.error?.data.type).toBe('tool_list_unchecked');
    expect(log).toEqual([expect.stringMatching(/^withheld the tool list of 'srv': it offers 10001 tools/)]);
  });
});
