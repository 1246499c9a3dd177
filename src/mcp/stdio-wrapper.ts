import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { readRuntimeFile } from '../runtime-file.js';
import { createAgentDecisionClient, type AgentDecisionClient } from './agent-client.js';
import { commandForAgent } from './command-for-agent.js';
import { pumpLines } from './line-pump.js';
import { LineWriter } from './line-writer.js';
import { StdioGovernor } from './stdio-governor.js';
import { planWindowsSpawn, type WindowsEnvironment } from './windows-command.js';

/**
 * Runs a stdio MCP server under governance: spawns it, relays newline-delimited JSON-RPC between the MCP
 * client (our stdin/stdout) and the server (its stdin/stdout) through the StdioGovernor, passes the
 * server's stderr through, forwards SIGINT/SIGTERM/SIGHUP, and ends as the server ends (same exit code,
 * or the same signal). The wrapper's own messages go to stderr only: stdout is the client's JSON-RPC stream.
 *
 * The server's end is its exit, not the end of its stdout: a process it started in the background may
 * hold that pipe open for as long as it lives. After the exit, the server's last answers are relayed for
 * a short while, then the pipe is let go. Signals go to the server while it runs; once it has exited, a
 * signal ends the wrapper at once (exit code 128 + the signal's number), as it would any program.
 */

export interface WrapOptions {
  /** The MCP client name policy knows this server by (`mcp_configs[].mcp_client_name`). */
  name: string;
  /** The server's command line: program, then arguments. */
  command: string[];
  /** The agent's data dir, where its runtime file says how to reach it. */
  dataDir: string;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  agent?: AgentDecisionClient;
}

/** Client messages over this are refused unread; the agent's guardrails inspect far less anyway. */
const MAX_CLIENT_MESSAGE_BYTES = 32 * 1024 * 1024;
/** Server messages are only read to filter tool lists, but a line must fit in memory to be relayed whole. */
const MAX_SERVER_MESSAGE_BYTES = 256 * 1024 * 1024;
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How long the server's output is still relayed after it exited, when nothing closes it. */
const OUTPUT_GRACE_AFTER_EXIT_MS = 2000;

export async function wrapStdioServer(options: WrapOptions): Promise<number> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const log = (line: string) => stderr.write(`bifrost-edge mcp wrap (${options.name}): ${line}\n`);
  // A closed log pipe must not take the relay down with it.
  stderr.on('error', () => {});
  const server = { name: options.name, command: commandForAgent(options.command) };
  const agent = options.agent ?? createAgentDecisionClient({ dataDir: options.dataDir });
  if (!options.agent && !readRuntimeFile(options.dataDir)) {
    log(`Bifrost Edge is not running (no agent for ${options.dataDir}): tool calls will be refused until it runs.`);
  }
  const governor = new StdioGovernor({ server, agent, log });

  const [program, ...args] = options.command as [string, ...string[]];
  // npx, uvx and friends are .cmd scripts on Windows, which only cmd.exe starts: see windows-command.ts.
  const plan = process.platform === 'win32' ? planWindowsSpawn(program, args, windowsEnvironment()) : { file: program, args, windowsVerbatimArguments: false };
  const child = spawn(plan.file, plan.args, { stdio: ['pipe', 'pipe', 'inherit'], windowsVerbatimArguments: plan.windowsVerbatimArguments, windowsHide: true });
  const toServer = new LineWriter(child.stdin, (err) => log(`the MCP server stopped reading its input (${err.message})`));
  const toClient = new LineWriter(stdout, (err) => {
    log(`the MCP client stopped reading (${err.message}); stopping the server`);
    stopChild('SIGTERM');
  });
  const serverRuns = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const stopChild = (signal: NodeJS.Signals) => {
    if (serverRuns()) child.kill(signal);
  };
  // A handler keeps Node from dying of the signal, so with no server left to forward to, the wrapper ends itself.
  let interrupt: (signal: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<NodeJS.Signals>((resolve) => { interrupt = resolve; });
  const onSignal = (signal: NodeJS.Signals) => (serverRuns() ? child.kill(signal) : interrupt(signal));
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

  const fromClient = pumpLines(stdin, {
    maxLineBytes: MAX_CLIENT_MESSAGE_BYTES,
    handle: async (item) => {
      const relayed = item.kind === 'line' ? await governor.fromClient(item.line) : governor.oversizeFromClient(item.bytes);
      if (relayed.toClient) await toClient.write(relayed.toClient);
      if (relayed.toServer) await toServer.write(relayed.toServer);
    },
  });
  // The client closing our stdin is MCP's shutdown: close the server's, and let it exit on its own.
  void fromClient.then(() => toServer.end(), (err: Error) => {
    log(`relaying the client's messages failed (${err.message}); stopping the server`);
    stopChild('SIGTERM');
  });
  const fromServer = pumpLines(child.stdout, {
    maxLineBytes: MAX_SERVER_MESSAGE_BYTES,
    handle: async (item) => {
      if (item.kind === 'oversize') {
        log(`dropped a ${item.bytes}-byte message from the server: over the ${MAX_SERVER_MESSAGE_BYTES}-byte limit`);
        return;
      }
      const relayed = await governor.fromServer(item.line);
      if (relayed.toClient) await toClient.write(relayed.toClient);
    },
  }).catch((err: Error) => {
    log(`relaying the server's messages failed (${err.message})`);
  });

  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if ('error' in ended) {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
    log(`could not start ${program} (${ended.error.code ?? ended.error.message}). Check the command after "--" in your MCP client's configuration.`);
    stop(stdin);
    return ended.error.code === 'ENOENT' ? 127 : ended.error.code === 'EACCES' ? 126 : 1;
  }
  // The server exited: relay the answers still in its pipe, unless a signal says to stop now.
  const afterExit = await Promise.race([
    untilDrained(fromServer, OUTPUT_GRACE_AFTER_EXIT_MS),
    interrupted.then((signal) => ({ signal })),
  ]);
  for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  if (afterExit !== 'drained') {
    if (afterExit === 'held open') log('the MCP server exited, but a process it started still holds its output open; stopped relaying it');
    child.stdout.destroy();
    await fromServer;
  }
  if (typeof afterExit === 'object') {
    log(`stopped by ${afterExit.signal} after the MCP server had exited`);
    stop(stdin);
    return 128 + (os.constants.signals[afterExit.signal] ?? 0);
  }
  await toClient.flushed();
  stop(stdin);
  if (ended.signal !== null) {
    log(`the MCP server was stopped by ${ended.signal}`);
    // Die of the same signal, so whoever started us sees what happened to the server.
    if (options.stdin === undefined) process.kill(process.pid, ended.signal);
    return 128 + (os.constants.signals[ended.signal] ?? 0);
  }
  return ended.code ?? 1;
}

function windowsEnvironment(): WindowsEnvironment {
  // Windows environment names are case-insensitive (Path, PATHEXT, ComSpec); Node keeps them as set.
  const variable = (name: string) => Object.entries(process.env).find(([key]) => key.toLowerCase() === name)?.[1];
  return {
    path: variable('path'),
    pathExt: variable('pathext'),
    comspec: variable('comspec'),
    cwd: process.cwd(),
    isFile: (file) => {
      try {
        return fs.statSync(file).isFile();
      } catch {
        return false;
      }
    },
  };
}

/** 'drained' when the relay of the server's output ends within `ms`, else 'held open'. */
async function untilDrained(relay: Promise<void>, ms: number): Promise<'drained' | 'held open'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'held open'>((resolve) => { timer = setTimeout(() => resolve('held open'), ms); });
  try {
    return await Promise.race([relay.then(() => 'drained' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops reading a stream we no longer relay, so an open client pipe does not keep the process alive. */
function stop(stream: Readable): void {
  stream.pause();
  stream.destroy();
}
