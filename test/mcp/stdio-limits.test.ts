import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDecisionClient } from '../../src/mcp/agent-client.js';
import { commandForAgent } from '../../src/mcp/command-for-agent.js';
import { MAX_COMMAND_ARG_CHARS, MAX_COMMAND_ARGS } from '../../src/mcp/decision-protocol.js';
import { StdioGovernor } from '../../src/mcp/stdio-governor.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { runWrapped, writeMcpPolicy } from './support.js';

/**
 * What the wrapper asks the running agent is bounded by the decision protocol (decision-protocol.ts).
 * Servers are not: a long argument on their command line, a very long tool name or a huge tool list must
 * neither make every call fail nor show the model a list Edge did not filter.
 */

const READLINE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'readline-server.mjs');
const call = (id: number, name: string) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } })}\n`;
const list = (id: number) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' })}\n`;
const names = (message: Record<string, unknown>) => ((message['result'] as { tools: Array<{ name: string }> }).tools).map((t) => t.name);

describe('mcp wrap with the agent running: sizes the decision protocol does not take', () => {
  let dataDir: string;
  let edge: EdgeProcess;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-limits-'));
    edge = await startEdgeProcess({ dataDir, config: { mode: 'local', policyFile: writeMcpPolicy(dataDir, 'gh', ['echo']) } });
  });
  afterAll(async () => {
    await edge?.stop();
  });

  it('a server argument over 10,000 characters (inline JSON config) does not stop its calls', async () => {
    const w = runWrapped([process.execPath, READLINE_SERVER, '--config', JSON.stringify({ allow: 'a'.repeat(10_001) })], undefined, {}, dataDir);
    w.send(call(1, 'echo'));
    expect(await w.next(1)).toMatchObject({ result: { content: [{ text: 'ran echo' }] } });
    await w.finish();
  });

  it('a tool name over 1,000 characters is withheld from the list, the rest is filtered, and stderr says so', async () => {
    const long = 'x'.repeat(1001);
    const w = runWrapped([process.execPath, READLINE_SERVER], undefined, { LIST_TOOLS: `echo,delete_repo,${long}` }, dataDir);
    w.send(list(1));
    expect(names(await w.next(1))).toEqual(['echo']);
    const { stderr } = await w.finish();
    expect(stderr).toMatch(/withheld 1 tool of 'gh' whose name is longer than the 1000 characters Bifrost Edge checks/);
  });

  it('a list of more than 10,000 tools is withheld with an error that says why, not shown unfiltered', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => `t${i}`).join(',');
    const w = runWrapped([process.execPath, READLINE_SERVER], undefined, { LIST_TOOLS: `echo,delete_repo,${many}` }, dataDir);
    w.send(list(1));
    expect(await w.next(1)).toMatchObject({ error: { data: { type: 'tool_list_unchecked' }, message: expect.stringMatching(/Bifrost Edge withheld the tool list from 'gh': it offers 10003 tools, more than the 10000 Edge checks/) as unknown } });
    await w.finish();
  });
});

describe('an agent that refuses the wrapper\'s question as malformed (HTTP 400)', () => {
  const rejecting: AgentDecisionClient = {
    decide: () => Promise.resolve({ ok: false, problem: 'rejected', reason: 'the agent answered HTTP 400: server.command.0 too long' }),
    visibleTools: () => Promise.resolve({ ok: false, problem: 'rejected', reason: 'the agent answered HTTP 400: tools.0 too long' }),
  };

  it('the list is withheld, never shown unfiltered, and the log calls it a wrapper bug', async () => {
    const logged: string[] = [];
    const governor = new StdioGovernor({ server: { name: 'gh', command: ['x'] }, agent: rejecting, log: (line) => logged.push(line) });
    await governor.fromClient(Buffer.from(list(4)));
    const relayed = await governor.fromServer(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 4, result: { tools: [{ name: 'echo' }, { name: 'delete_repo' }] } })));
    expect(JSON.parse(relayed.toClient!.toString())).toMatchObject({ id: 4, error: { data: { type: 'tool_list_unchecked' } } });
    expect(logged.join('\n')).toMatch(/HTTP 400.*a bug in bifrost-edge mcp wrap/);
  });
});

describe('the command line the wrapper tells the agent', () => {
  const TOKEN = 'ghp_R8x2Lq9ZtY4vWm1Kp7Nc3Hs6Jd0Fb5Ge2Ua8';

  it('fits the protocol, and a credential is masked before an argument is shortened, so no piece of it is left', () => {
    // Inline JSON whose token sits across the point where the argument is cut.
    const straddling = `{"padding":"${'a'.repeat(MAX_COMMAND_ARG_CHARS - 60)}","auth":"${TOKEN}","more":"${'b'.repeat(100)}"}`;
    const command = commandForAgent(['node', 'server.js', '--config', straddling, ...Array.from({ length: 2000 }, (_, i) => `arg${i}`)]);
    expect(command).toHaveLength(MAX_COMMAND_ARGS);
    expect(command.every((arg) => arg.length <= MAX_COMMAND_ARG_CHARS)).toBe(true);
    expect(command[3]).toMatch(/…\[\d+ characters in all\]$/);
    expect(command.join(' ')).not.toContain(TOKEN.slice(0, 8));
    expect(command.at(-1)).toBe('…[1005 more arguments]');
    expect(commandForAgent(['npx', '-y', 'server', '--token', TOKEN])).toEqual(['npx', '-y', 'server', '--token', '[REDACTED]']);
  });
});
