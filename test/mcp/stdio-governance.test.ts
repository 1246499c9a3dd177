import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentDecisionClient } from '../../src/mcp/agent-client.js';
import { StdioGovernor } from '../../src/mcp/stdio-governor.js';
import { readCalls, runWrapped } from './support.js';

/**
 * The wrapper's relay between a client and a real server process, driven in-process (PassThrough for the
 * client's pipes) with a stand-in agent that refuses one tool: what reaches the server, and what the
 * client is shown. The agent's own decisions are covered by stdio-wrapper.test.ts.
 */

const READLINE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'readline-server.mjs');

/** Refuses every call of `denied` and hides it from lists; records what it was asked. */
function denyingAgent(denied: string, asked: string[] = []): AgentDecisionClient {
  return {
    decide(input) {
      const name = (input.message['params'] as { name?: string } | undefined)?.name;
      asked.push(`decide ${String(name)}`);
      if (name === denied) return Promise.resolve({ ok: true, value: { action: 'refuse', error: { status: 403, type: 'mcp_tool_blocked', message: `${denied} is not allowed` } } });
      return Promise.resolve({ ok: true, value: { action: 'forward' } });
    },
    visibleTools(input) {
      asked.push(`tools ${input.tools.length}`);
      return Promise.resolve({ ok: true, value: { allowed: input.tools.filter((t) => t !== denied) } });
    },
  };
}

const call = (id: number, name: string, args: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('stdio wrapper: the server reads exactly what Edge checked', () => {
  it('a tools/call hidden behind lone carriage returns inside an allowed message never reaches a readline server', async () => {
    const callsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-cr-')), 'calls.jsonl');
    const asked: string[] = [];
    const w = runWrapped([process.execPath, READLINE_SERVER], denyingAgent('delete_repo', asked), { MCP_FIXTURE_CALLS: callsFile });
    // One JSON value (a ping) to Edge, since JSON reads \r as whitespace; three lines to readline.
    w.send(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":\r${call(7, 'delete_repo', { repo: 'prod' })}\r}}\n`);
    w.send(`${call(2, 'echo', { text: 'still works' })}\n`);
    expect(await w.next(2)).toMatchObject({ result: { content: [{ text: 'ran echo' }] } });
    const { messages } = await w.finish();
    expect(readCalls(callsFile)).toEqual([{ tool: 'echo', args: { text: 'still works' } }]);
    // The server read the ping whole, and answered it.
    expect(messages.find((m) => m['id'] === 1)).toMatchObject({ result: {} });
    expect(messages.find((m) => m['id'] === 7)).toBeUndefined();
    expect(asked).toEqual(['decide echo']);
  });

  it('the server gets the message as Edge read it: duplicate keys leave only the one JSON.parse kept', async () => {
    const governor = new StdioGovernor({ server: { name: 'gh', command: ['x'] }, agent: denyingAgent('delete_repo'), log: () => {} });
    // JSON.parse keeps the last "method"; a server whose parser keeps the first would run delete_repo.
    const relayed = await governor.fromClient(Buffer.from('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_repo"},"method":"ping"}'));
    expect(relayed.toServer?.toString()).toBe('{"jsonrpc":"2.0","id":3,"method":"ping","params":{"name":"delete_repo"}}');
  });

  it('a tool named twice in letter cases is refused: a Go server would run the one Edge did not check', async () => {
    const asked: string[] = [];
    const governor = new StdioGovernor({ server: { name: 'gh', command: ['x'] }, agent: denyingAgent('delete_repo', asked), log: () => {} });
    const relayed = await governor.fromClient(Buffer.from('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","NAME":"delete_repo","arguments":{}}}'));
    expect(relayed.toServer).toBeUndefined();
    const reply = JSON.parse(relayed.toClient!.toString()) as { id: number; error: { message: string } };
    expect(reply.id).toBe(4);
    expect(reply.error.message).toMatch(/has both "name" and "NAME" in params/);
    expect(asked).toEqual([]);
  });

  it('keys differing in case inside tool arguments (free-form) go through', async () => {
    const governor = new StdioGovernor({ server: { name: 'gh', command: ['x'] }, agent: denyingAgent('delete_repo'), log: () => {} });
    const relayed = await governor.fromClient(Buffer.from(call(5, 'echo', { Name: 'a', name: 'b' })));
    expect(JSON.parse(relayed.toServer!.toString())).toMatchObject({ params: { name: 'echo', arguments: { Name: 'a', name: 'b' } } });
  });
});

describe('stdio wrapper: every tool list answer the client gets is filtered', () => {
  const listRequest = (id: number) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' })}\n`;
  const toolNames = (message: Record<string, unknown> | undefined) => ((message?.['result'] as { tools: Array<{ name: string }> } | undefined)?.tools ?? []).map((t) => t.name);

  it('two tools/list requests in flight with the same id: both answers are filtered', async () => {
    const w = runWrapped([process.execPath, READLINE_SERVER], denyingAgent('delete_repo'));
    w.send(listRequest(1) + listRequest(1));
    const { messages } = await w.finish();
    const answers = messages.filter((m) => m['id'] === 1);
    expect(answers.map(toolNames)).toEqual([['echo'], ['echo']]);
  });

  it('with as many lists pending as it tracks, another is refused rather than tracked at the expense of one in flight', async () => {
    const governor = new StdioGovernor({ server: { name: 'gh', command: ['x'] }, agent: denyingAgent('delete_repo'), log: () => {} });
    for (let id = 0; id < 1000; id++) expect((await governor.fromClient(Buffer.from(listRequest(id)))).toServer).toBeDefined();
    const refused = await governor.fromClient(Buffer.from(listRequest(1000)));
    expect(refused.toServer).toBeUndefined();
    expect(JSON.parse(refused.toClient!.toString())).toMatchObject({ id: 1000, error: { message: expect.stringMatching(/1000 tool lists .* waiting/) as unknown } });
    const answer = { jsonrpc: '2.0', id: 0, result: { tools: [{ name: 'echo' }, { name: 'delete_repo' }] } };
    const relayed = await governor.fromServer(Buffer.from(JSON.stringify(answer)));
    expect(toolNames(JSON.parse(relayed.toClient!.toString()) as Record<string, unknown>)).toEqual(['echo']);
  });
});
