import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_BIN, startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { auditRecords, connectWrapped, FIXTURE_SERVER, readCalls, writeMcpPolicy, type WrappedClient } from './support.js';

const SERVER = 'github';
// Realistic-looking values: the guardrails skip obvious placeholders (example.com, abcdef…).
const GITHUB_TOKEN = 'ghp_R8x2Lq9ZtY4vWm1Kp7Nc3Hs6Jd0Fb5Ge2Ua8';
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';

const textOf = (result: unknown) => ((result as { content: Array<{ type: string; text: string }> }).content[0]!).text;

describe('bifrost-edge mcp wrap, with the agent running', () => {
  let dataDir: string;
  let callsFile: string;
  let edge: EdgeProcess;
  let wrapped: WrappedClient;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-'));
    callsFile = path.join(dataDir, 'calls.jsonl');
    edge = await startEdgeProcess({ dataDir, config: { mode: 'local', policyFile: writeMcpPolicy(dataDir, SERVER, ['echo', 'add']) } });
    wrapped = await connectWrapped({ name: SERVER, dataDir, callsFile });
  });
  afterAll(async () => {
    await wrapped?.close();
    await edge?.stop();
  });

  it('tools/list offers only the tools the key allows', async () => {
    const { tools } = await wrapped.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'echo']);
  });

  it('an allowed call reaches the server and its result comes back', async () => {
    expect(textOf(await wrapped.client.callTool({ name: 'echo', arguments: { text: 'hello from the client' } }))).toBe('hello from the client');
    expect(textOf(await wrapped.client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }))).toBe('42');
    expect(readCalls(callsFile)).toContainEqual({ tool: 'echo', args: { text: 'hello from the client' } });
  });

  it('a tool the key does not allow is refused with the policy\'s message, and the server never sees the call', async () => {
    const error = await wrapped.client.callTool({ name: 'delete_repo', arguments: { repo: 'acme/prod' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32003);
    expect((error as McpError).message).toMatch(/Your key 'eng-team' does not allow the MCP tool 'delete_repo' of 'github'; allowed tools there: echo, add/);
    expect((error as McpError).data).toEqual({ type: 'mcp_tool_blocked', status: 403, source: 'bifrost-edge' });
    expect(readCalls(callsFile).map((c) => c.tool)).not.toContain('delete_repo');
  });

  it('a secret in the arguments is blocked; personal data is redacted before the server gets it', async () => {
    const blocked = await wrapped.client.callTool({ name: 'echo', arguments: { text: `deploy with ${GITHUB_TOKEN}` } }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(McpError);
    expect((blocked as McpError).message).toMatch(/blocked by an Edge guardrail.*github-pat/);
    expect((blocked as McpError).message).not.toContain(GITHUB_TOKEN);

    const redacted = textOf(await wrapped.client.callTool({ name: 'echo', arguments: { text: `mail ${EMAIL} today` } }));
    expect(redacted).toBe('mail [REDACTED:email] today');
    const seen = JSON.stringify(readCalls(callsFile));
    expect(seen).not.toContain(GITHUB_TOKEN);
    expect(seen).not.toContain(EMAIL);
    expect(seen).toContain('[REDACTED:email]');
  });

  it('a message over 1 MB each way relays intact', async () => {
    const big = 'lorem ipsum dolor sit amet, consectetur adipiscing elit; '.repeat(20_000);
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
    expect(textOf(await wrapped.client.callTool({ name: 'echo', arguments: { text: big } }))).toBe(big);
  });

  it('every tools/call has an audit record with its decision and reason', async () => {
    const records = (await auditRecords(dataDir)).filter((r) => r['host'] === `stdio:${SERVER}`);
    const summary = records.map((r) => [r['path'], r['decision'], r['reason'] ?? null]);
    expect(summary).toEqual([
      ['/github-echo', 'allowed', null],
      ['/github-add', 'allowed', null],
      ['/github-delete_repo', 'blocked', 'mcp_tool_blocked'],
      ['/github-echo', 'blocked', 'guardrail_blocked'],
      ['/github-echo', 'redacted', null],
      ['/github-echo', 'allowed', null],
    ]);
    expect(records[0]).toMatchObject({ method: 'tools/call', provider: 'mcp', app: 'mcp-e2e-client', virtual_key_id: 'vk-eng', policy_version: 3 });
    expect(records[2]!['message']).toMatch(/does not allow the MCP tool 'delete_repo'/);
    expect(records[4]!['findings']).toEqual([{ type: 'email', rule_id: 'email', action: 'redact', location: 'params.arguments.text' }]);
  });

  it('the agent reports the wrapped server (status.json, and the Edge Control heartbeat inventory)', async () => {
    const status = await (await fetch(new URL('/status.json', edge.proxyUrl))).json() as { mcpServers: Array<Record<string, unknown>> };
    expect(status.mcpServers).toContainEqual(expect.objectContaining({ name: SERVER, transport: 'stdio', target: `${process.execPath} ${FIXTURE_SERVER}` }));
    expect(status.mcpServers[0]!['tools']).toEqual(['echo', 'add', 'delete_repo']);
  });

  it('the decision endpoint refuses calls a web page could make: no custom header, or not JSON', async () => {
    const url = new URL('/mcp/decide', edge.proxyUrl);
    const body = JSON.stringify({ server: { name: SERVER, command: ['x'] }, message: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } } });
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(403);
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-bifrost-edge-mcp-wrapper': '1' }, body })).status).toBe(415);
    expect((await fetch(url, { method: 'GET' })).status).toBe(405);
    // DNS rebinding: a page on evil.test resolving to 127.0.0.1 sends its own Host.
    const rebound = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(edge.proxyUrl);
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port, path: '/mcp/decide', method: 'POST', headers: { host: `evil.test:${port}`, 'content-type': 'application/json', 'x-bifrost-edge-mcp-wrapper': '1' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.once('error', reject);
        req.end(body);
      }, reject);
    });
    expect(rebound).toBe(421);
  });

  describe('the raw stdio stream', () => {
    function spawnWrapper(env: Record<string, string> = {}): { child: ChildProcessWithoutNullStreams; lines: string[]; stderr: () => string; next: (id: number) => Promise<Record<string, unknown>> } {
      const child = spawn(process.execPath, [EDGE_BIN, 'mcp', 'wrap', '--name', SERVER, '--data-dir', dataDir, '--', process.execPath, FIXTURE_SERVER], {
        env: { ...process.env, MCP_FIXTURE_CALLS: callsFile, ...env },
      });
      const lines: string[] = [];
      let buffer = '';
      let stderr = '';
      const waiters: Array<() => void> = [];
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          lines.push(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
        waiters.splice(0).forEach((w) => w());
      });
      const next = async (id: number): Promise<Record<string, unknown>> => {
        for (;;) {
          const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((m) => m['id'] === id);
          if (found) return found;
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      };
      return { child, lines, stderr: () => stderr, next };
    }
    const exited = (child: ChildProcessWithoutNullStreams) => new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-client', version: '1' } } });

    it('messages cut across writes (even inside a UTF-8 character) arrive whole; stdout carries only JSON-RPC; the exit code is the server\'s', async () => {
      const w = spawnWrapper({ FIXTURE_EXIT_CODE: '7' });
      const init = Buffer.from(`${initialize}\n`);
      for (const piece of [init.subarray(0, 10), init.subarray(10, 60), init.subarray(60)]) {
        w.child.stdin.write(piece);
        await pause(20);
      }
      expect(await w.next(1)).toMatchObject({ result: { serverInfo: { name: 'fixture-tools' } } });

      const call = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'café ✓ split' } } })}\n`);
      const cut = call.indexOf(Buffer.from('✓')) + 1;
      w.child.stdin.write(call.subarray(0, cut));
      await pause(30);
      w.child.stdin.write(call.subarray(cut));
      expect(await w.next(2)).toMatchObject({ result: { content: [{ type: 'text', text: 'café ✓ split' }] } });

      // Not JSON: answered with a parse error, never passed to the server.
      w.child.stdin.write('this is not json\n');
      await pause(100);
      const parseError = w.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((m) => m['id'] === null);
      expect(parseError).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });

      w.child.stdin.end();
      expect(await exited(w.child)).toEqual({ code: 7, signal: null });
      for (const line of w.lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(w.stderr()).toContain('fixture-tools: ready');
    });

    it('SIGTERM is forwarded to the server, and the wrapper ends the way the server did', async () => {
      const w = spawnWrapper();
      w.child.stdin.write(`${initialize}\n`);
      await w.next(1);
      w.child.kill('SIGTERM');
      expect(await exited(w.child)).toEqual({ code: null, signal: 'SIGTERM' });
      expect(w.stderr()).toMatch(/stopped by SIGTERM/);
    });

    it('a server command that does not exist: a clear message on stderr and exit code 127', async () => {
      const child = spawn(process.execPath, [EDGE_BIN, 'mcp', 'wrap', '--name', SERVER, '--data-dir', dataDir, '--', 'no-such-mcp-server-binary']);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdin.end();
      expect(await exited(child as ChildProcessWithoutNullStreams)).toEqual({ code: 127, signal: null });
      expect(stderr).toMatch(/could not start no-such-mcp-server-binary \(ENOENT\)/);
    });

    it('usage errors say what is missing', async () => {
      const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [EDGE_BIN, 'mcp', ...args]);
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        child.once('exit', (code) => resolve({ code, stderr }));
      });
      expect(await run(['wrap', '--', 'node', 'x.js'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--name is required/) });
      expect(await run(['wrap', '--name', 'github'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/command after "--"/) });
      expect(await run(['wrap', '--name', 'has space', '--', 'x'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--name "has space" must be/) });
    });
  });
});

describe('bifrost-edge mcp wrap, with no agent running', () => {
  it('tool calls are refused with a message that says Edge is not running (and stderr says so); nothing reaches the server', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-none-'));
    const callsFile = path.join(dataDir, 'calls.jsonl');
    const wrapped = await connectWrapped({ name: SERVER, dataDir, callsFile });
    try {
      // Listing still works (unfiltered: there is no policy to filter by); calling does not.
      expect((await wrapped.client.listTools()).tools.map((t) => t.name).sort()).toEqual(['add', 'delete_repo', 'echo']);
      const error = await wrapped.client.callTool({ name: 'echo', arguments: { text: 'hi' } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).message).toMatch(/Bifrost Edge is not running on this computer, so the MCP tool 'echo' of 'github' was not run.*Start Bifrost Edge/);
      expect(readCalls(callsFile)).toEqual([]);
      expect(wrapped.stderr()).toMatch(/Bifrost Edge is not running/);
    } finally {
      await wrapped.close();
    }
  });
});
