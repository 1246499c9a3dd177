import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load-config.js';
import type { AgentConfigInput } from './config/schema.js';
import { createLogger, routeConsoleToLogger, type LogLevel } from './log.js';
import { ensureCa, startAgent } from './agent.js';

const USAGE = `Usage: bifrost-edge <command> [options]

Commands:
  run        Run the Edge proxy in the foreground. Prints one JSON "ready" line on stdout.
               --config F      JSON config file (see README)
               --data-dir D    where the CA and state live (default: OS convention)
               --port N        proxy port on 127.0.0.1 (0 picks a free port; default 8790)
               --mode M        local | gateway | passthrough
               --gateway URL   Bifrost gateway URL (implies gateway mode)
               --log-level L   debug | info | warn | error | silent
  ca path    Print the path of the device CA certificate (creating the CA if needed).
  help       Show this help.
  version    Print the version.
`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<void> {
  try {
    process.exitCode = await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bifrost-edge: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`bifrost-edge: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bifrost-edge: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'ca':
      return caCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const CONFIG_FLAGS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  mode: { type: 'string' },
  gateway: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;

function parseFlags<T extends FlagSpec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function configFromFlags(values: Record<string, string | boolean | undefined>) {
  const overrides: Record<string, unknown> = {};
  if (typeof values['data-dir'] === 'string') overrides.dataDir = values['data-dir'];
  if (typeof values.mode === 'string') overrides.mode = values.mode;
  if (typeof values['log-level'] === 'string') overrides.logLevel = values['log-level'];
  if (typeof values.port === 'string') {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535 (got "${values.port}")`);
    overrides.proxy = { port };
  }
  if (typeof values.gateway === 'string') overrides.gateway = { url: values.gateway };
  return loadConfig({
    ...(typeof values.config === 'string' ? { file: values.config } : {}),
    overrides: overrides as AgentConfigInput,
  });
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, CONFIG_FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = configFromFlags(values);
  const log = createLogger(config.logLevel as LogLevel);
  routeConsoleToLogger(log);
  const agent = await startAgent(config, { log });
  process.stdout.write(JSON.stringify({ event: 'ready', proxy: agent.proxyUrl, ca: agent.caPath }) + '\n');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn(`second ${signal}: exiting without waiting for open connections`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${signal} received, shutting down`);
      agent.close().then(() => resolve(0), (err: Error) => {
        log.error('shutdown failed', { error: err.message });
        resolve(1);
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function caCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'path') throw new UsageError(sub ? `unknown ca subcommand "${sub}"` : 'ca needs a subcommand: path');
  const { values, positionals } = parseFlags(rest, { config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'] });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = configFromFlags(values);
  const log = createLogger('warn');
  const ca = await ensureCa(config.dataDir, log);
  process.stdout.write(`${ca.certPath}\n`);
  return 0;
}

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
