import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/index.js';
import { MCP_WRAPPER_HEADER } from '../../src/mcp/decision-protocol.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { loopbackAgents } from '../support/loopback-agents.js';

/**
 * Version skew: a stdio wrapper of the previous release, still running beside an updated agent, reports a tool list it
 * withheld in that release's body (`error`: the error its client got, not `withheld`). The agent's real MCP API records
 * it when that error is the agent's own wording of a reason, and refuses any other text, so a local process still
 * cannot choose what the audit record says.
 */

const agents = loopbackAgents('edge-mcp-previous-wrapper-');
afterEach(() => agents.closeAll());

async function realAgent(records: ExchangeRecord[]): Promise<string> {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  return agents.real(compiled.policy, records);
}

async function postWithheldList(dataDir: string, body: unknown): Promise<{ status: number; text: string }> {
  const runtime = JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { proxy: string };
  const res = await fetch(`${runtime.proxy}/mcp/withheld-list`, { method: 'POST', headers: { 'content-type': 'application/json', [MCP_WRAPPER_HEADER]: '1' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

const server = { name: 'srv', command: ['node', 'server.js'] };
// Word for word what the previous release's wrapper sent (stdio-governor.ts at 284eb0b, toolListWithheldError).
const TOO_MANY = "Bifrost Edge withheld the tool list from 'srv': it offers 10001 tools, more than the 10000 Edge checks, so Edge could not check which tools you may use.";
const TOO_DEEP = "Bifrost Edge withheld the tool list from 'srv': tools[3] nests arrays or objects more than 128 levels deep, deeper than Edge reads, so Edge could not check which tools you may use.";
const previousBody = (message: string, error: { status?: number; type?: string } = {}) => ({
  server, client: { name: 'claude-ai', version: '0.1.0' }, error: { status: 502, type: 'tool_list_unchecked', ...error, message },
});

describe("a withheld-list report in the previous release's body", () => {
  it('is recorded as the current body is, in the words the agent gives that reason', async () => {
    const records: ExchangeRecord[] = [];
    const dataDir = await realAgent(records);

    expect((await postWithheldList(dataDir, previousBody(TOO_MANY))).status).toBe(200);
    expect(records).toEqual([expect.objectContaining({
      method: 'tools/list', host: 'stdio:srv', path: '/', provider: 'mcp', app: 'claude-ai', decision: 'blocked', via: 'edge',
      status: 502, errorType: 'tool_list_unchecked', message: TOO_MANY, findings: [],
    })]);

    expect((await postWithheldList(dataDir, previousBody(TOO_DEEP))).status).toBe(200);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ host: 'stdio:srv', decision: 'blocked', errorType: 'tool_list_unchecked', message: TOO_DEEP });

    // As with the current body, the same reason again is not recorded again.
    expect((await postWithheldList(dataDir, previousBody(TOO_DEEP))).status).toBe(200);
    expect(records).toHaveLength(2);
  });

  it.each([
    ['a message of its own', previousBody('forged')],
    ['text added to the wording', previousBody(`${TOO_MANY} Approved by IT.`)],
    ['another server named in the wording', previousBody(TOO_MANY.replace("'srv'", "'github'"))],
    ['a count Edge would have checked', previousBody(TOO_MANY.replace('10001 tools', '10000 tools'))],
    ['another status', previousBody(TOO_MANY, { status: 200 })],
    ['another error type', previousBody(TOO_MANY, { type: 'budget_exceeded' })],
  ])('is refused (400), with nothing recorded, when it is not the agent\'s wording: %s', async (_what, body) => {
    const records: ExchangeRecord[] = [];
    const answer = await postWithheldList(await realAgent(records), body);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('withheld');
    expect(records).toEqual([]);
  });
});
