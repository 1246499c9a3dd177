/**
 * Runs the Bifrost stand-in as a process, for demos and end-to-end scripts:
 *
 *   node dist/test/support/bifrost-standin-cli.js [--port N] [--vk sk-bf-...]... [--chunks N] [--delay-ms N] [--no-require-vk]
 *
 * Prints one JSON line on stdout when listening: {"event":"ready","url":"http://127.0.0.1:PORT"}; logs one JSON
 * line per answered request on stderr (virtual keys masked); SIGINT / SIGTERM close it and exit 0.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { DEMO_VIRTUAL_KEY, startBifrostStandin, type BifrostStandin } from './bifrost-standin.js';
import { maskKey } from './standin-virtual-keys.js';

export interface StandinCliArgs {
  port: number;
  virtualKeys: string[];
  chunks?: number;
  delayMs?: number;
  requireVirtualKey: boolean;
  help: boolean;
}

export const STANDIN_CLI_USAGE = `usage: bifrost-standin [--port N] [--vk sk-bf-...]... [--chunks N] [--delay-ms N] [--no-require-vk]
  --port N          port on 127.0.0.1 (default 0: any free port)
  --vk KEY          a virtual key the gateway accepts; repeat for more (default ${DEMO_VIRTUAL_KEY})
  --chunks N        content events per streamed answer (default 5)
  --delay-ms N      pause between streamed events (default 0)
  --no-require-vk   answer inference requests that carry no virtual key`;

function intArg(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${flag} needs a whole number from ${min} to ${max} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`);
  }
  return n;
}

export function parseStandinArgs(argv: readonly string[]): StandinCliArgs {
  const out: StandinCliArgs = { port: 0, virtualKeys: [], requireVirtualKey: true, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--port':
        out.port = intArg('--port', value(), 0, 65535);
        break;
      case '--vk': {
        const vk = value();
        if (!vk?.startsWith('sk-bf-')) throw new Error(`--vk needs a virtual key starting with sk-bf- (got ${JSON.stringify(vk ?? '')})`);
        out.virtualKeys.push(vk);
        break;
      }
      case '--chunks':
        out.chunks = intArg('--chunks', value(), 1, 1000);
        break;
      case '--delay-ms':
        out.delayMs = intArg('--delay-ms', value(), 0, 60_000);
        break;
      case '--no-require-vk':
        out.requireVirtualKey = false;
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}\n${STANDIN_CLI_USAGE}`);
    }
  }
  if (out.virtualKeys.length === 0) out.virtualKeys.push(DEMO_VIRTUAL_KEY);
  return out;
}

export interface StandinCliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const processIo: StandinCliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/** Starts the stand-in from command-line arguments; prints the ready line. Throws on bad arguments. */
export async function runStandinCli(argv: readonly string[], io: StandinCliIo = processIo): Promise<BifrostStandin | null> {
  const args = parseStandinArgs(argv);
  if (args.help) {
    io.stdout(STANDIN_CLI_USAGE);
    return null;
  }
  const standin = await startBifrostStandin({
    port: args.port,
    virtualKeys: args.virtualKeys.map((value, i) => ({ value, name: i === 0 && value === DEMO_VIRTUAL_KEY ? 'demo' : `cli key ${i + 1}` })),
    requireVirtualKey: args.requireVirtualKey,
    ...(args.chunks !== undefined ? { sseChunks: args.chunks } : {}),
    ...(args.delayMs !== undefined ? { sseChunkDelayMs: args.delayMs } : {}),
    onResponse: (r) => {
      io.stderr(JSON.stringify({
        event: 'request',
        seq: r.seq,
        method: r.method,
        path: r.path,
        status: r.status,
        vk: r.virtualKey ? maskKey(r.virtualKey) : null,
        bytes: r.rawBody.length,
        ms: Date.now() - r.time,
        ...(Object.keys(r.logHeaders).length > 0 ? { log_headers: r.logHeaders } : {}),
      }));
    },
  });
  io.stdout(JSON.stringify({ event: 'ready', url: standin.url }));
  return standin;
}

async function main(): Promise<void> {
  let standin: BifrostStandin | null;
  try {
    standin = await runStandinCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bifrost-standin: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (!standin) return;
  const running = standin;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ event: 'stopping', signal })}\n`);
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) void main();
