import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readConfiguredPolicyFile } from './config/configured-files.js';
import { ConfigError } from './config/load-config.js';
import { loadEffectiveConfig, logConfigOrigin, type LoadedConfig } from './config/managed-config-sources.js';
import type { AgentConfigInput } from './config/schema.js';
import { createLogger, routeConsoleToLogger, type LogLevel } from './log.js';
import { ensureCa, startAgent, type RunningAgent } from './agent.js';
import { releaseDataDirLockIfMine } from './data-dir-lock.js';
import { runScanCommand, type ScanPolicySource } from './guardrails/scan-command.js';
import { formatStatus } from './policy/status-command.js';
import type { PolicyStatus } from './policy/status-data.js';
import { readRuntimeFile } from './runtime-file.js';
import { agentVersion } from './version.js';
import { defaultCaCommandDeps, ENV_SHELLS, runCaEnv, runCaInstall, runCaUninstall, type EnvShell } from './installers/ca-commands.js';
import { runInstallersCommand } from './installers/installer-commands.js';
import { createTokenStore } from './auth/create-token-store.js';
import { runLoginCommand, runLogoutCommand, runWhoamiCommand } from './auth/commands.js';
import { readSecretLine } from './auth/read-secret-line.js';
import { runVirtualKeyLoginCommand } from './auth/virtual-key-commands.js';
import { VIRTUAL_KEY_PREFIX } from './auth/virtual-key-shape.js';
import { createVirtualKeyStore } from './auth/virtual-key-store.js';
import { fetchEnrollmentMethods } from './control/client/control-api.js';
import { auditDbPath } from './audit/audit-trail.js';
import { runAuditVerifyCommand } from './audit/verify.js';
import { runAuditTailCommand } from './audit/tail.js';
import { runControlServeCommand } from './control/server/serve-command.js';
import { runControlKeysCommand } from './control/server/keys-command.js';
import { runMcpCommand } from './mcp/wrap-command.js';

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
  ca install [--system|--user] [--dry-run]   Trust the device CA (OS store, NSS databases of browsers).
  ca uninstall [--system|--user] [--dry-run] Remove it again.
  ca env [--shell bash|fish|powershell]      Print the variables that make CLI tools use Edge.
  installers <mobileconfig|windows|linux> [--config F] [--out DIR]   Write MDM/installer files.
  status     Show the running agent's user, key, policy version and age, budgets and last blocks.
               --json          the same as JSON
  login      Sign in with your company account in the browser (prints the URL too) and wait.
  login --virtual-key   Sign in with a virtual key from your admin, where Edge Control allows it.
             The key is read from stdin (a hidden prompt, or the first line piped in), never from argv.
  logout     Sign out: revoke the session and delete it (and a saved virtual key) from this device.
  whoami     Show who is signed in (--json for JSON).
  audit verify   Check the audit trail's hash chain; names the first bad record (--json).
  audit tail     Show recent audit records (--json, --limit N).
  control serve  Run the reference Edge Control server (--config F); prints one JSON ready line.
  control keys   Rotate Edge Control's bundle-signing key: list | rotate | promote | retire (--config F).
  mcp wrap --name N [--data-dir D] -- <command> [args...]
             Run a stdio MCP server under Edge: tool calls decided by the running agent, lists filtered.
  scan       Scan text on stdin with the guardrails; print findings, the redacted text and the policy used.
               --json          one JSON object instead of text
               --config F      scan with the guardrails of this configuration, under the managed one
                               (default: the configuration \`run\` would load; built-in policy if it sets none)
               --policy F      scan with a guardrail policy JSON file instead (the "guardrails" object alone)
             A running agent enrolled with Edge Control uses its policy bundle's guardrails when the bundle has any.
  help       Show this help.
  version    Print the version.
`;

class UsageError extends Error {}

const VIRTUAL_KEY_NOT_AN_ARGUMENT = 'a virtual key is never taken from the command line (it would stay in your shell history and show in the process list); run `bifrost-edge login --virtual-key` and paste it at the prompt, or pipe it in on stdin';

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
    case 'scan':
      return scanCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'login':
    case 'logout':
    case 'whoami':
      return authCommand(command, rest);
    case 'audit':
      return auditCommand(rest);
    case 'control':
      return controlCommand(rest);
    case 'installers':
      return runInstallersCommand(rest);
    case 'mcp':
      return runMcpCommand(rest, (flags) => configFromFlags(flags).dataDir);
    case 'version':
    case '--version':
      process.stdout.write(`${agentVersion()}\n`);
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
  return loadFromFlags(values).config;
}

/** Flags over BIFROST_EDGE_* over the --config file, under whatever the machine's managed source locks. */
function loadFromFlags(values: Record<string, string | boolean | undefined>): LoadedConfig {
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
  return loadEffectiveConfig({
    ...(typeof values.config === 'string' ? { configFile: values.config } : {}),
    overrides: overrides as AgentConfigInput,
  });
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, CONFIG_FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const loaded = loadFromFlags(values);
  const config = loaded.config;
  const log = createLogger(config.logLevel as LogLevel);
  routeConsoleToLogger(log);
  logConfigOrigin(log, loaded);
  // Signal handlers go in before the ready line: a supervisor may send SIGTERM the moment it reads
  // it, and a signal with no handler yet would kill the process without a clean shutdown.
  const started: { agent?: RunningAgent } = {};
  let stopRequested: NodeJS.Signals | undefined;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => { finish = resolve; });
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      log.warn(`second ${signal}: exiting without waiting for open connections`);
      // The clean shutdown that would release the lock is skipped; a lock left behind could refuse the next start.
      releaseDataDirLockIfMine(config.dataDir);
      process.exit(1);
    }
    stopRequested = signal;
    log.info(`${signal} received, shutting down: requests in flight get up to ${config.proxy.shutdownGraceMs} ms to finish (${signal} again exits at once)`);
    if (started.agent) shutDown(started.agent);
  };
  const shutDown = (running: RunningAgent) => {
    running.close().then(() => finish(0), (err: Error) => {
      log.error('shutdown failed', { error: err.message });
      finish(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const agent = await startAgent(config, { log });
  started.agent = agent;
  if (stopRequested) {
    shutDown(agent);
  } else {
    process.stdout.write(JSON.stringify({ event: 'ready', proxy: agent.proxyUrl, ca: agent.caPath }) + '\n');
  }
  return finished;
}

async function caCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'path' && sub !== 'install' && sub !== 'uninstall' && sub !== 'env') {
    throw new UsageError(sub ? `unknown ca subcommand "${sub}"` : 'ca needs a subcommand: path, install, uninstall or env');
  }
  const { values, positionals } = parseFlags(rest, {
    config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'],
    system: { type: 'boolean' }, user: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, shell: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = configFromFlags(values);
  if (sub === 'path') {
    const ca = await ensureCa(config.dataDir, createLogger('warn'));
    process.stdout.write(`${ca.certPath}\n`);
    return 0;
  }
  if (values.system === true && values.user === true) throw new UsageError('choose one of --system and --user');
  const scope: 'system' | 'user' | undefined = values.system === true ? 'system' : values.user === true ? 'user' : undefined;
  const deps = await defaultCaCommandDeps({ dataDir: config.dataDir, proxyUrl: `http://${config.proxy.host}:${config.proxy.port}` });
  if (sub === 'env') {
    const shell = values.shell;
    if (shell !== undefined && !(ENV_SHELLS as readonly string[]).includes(shell)) throw new UsageError(`--shell must be one of ${ENV_SHELLS.join(', ')}`);
    return runCaEnv(deps, { ...(shell ? { shell: shell as EnvShell } : {}) });
  }
  const options = { ...(scope ? { scope } : {}), dryRun: values['dry-run'] === true };
  return sub === 'install' ? runCaInstall(deps, options) : runCaUninstall(deps, options);
}

async function authCommand(command: 'login' | 'logout' | 'whoami', args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, 'virtual-key': { type: 'boolean' }, config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'] });
  const withVirtualKey = values['virtual-key'] === true;
  if (withVirtualKey && command !== 'login') throw new UsageError(`--virtual-key goes with login only (${command} covers every kind of sign-in)`);
  if (positionals.length > 0) {
    // Never echo a key typed on the command line; say where it belongs instead.
    if (withVirtualKey || positionals.some((p) => p.startsWith(VIRTUAL_KEY_PREFIX))) throw new UsageError(VIRTUAL_KEY_NOT_AN_ARGUMENT);
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const config = configFromFlags(values);
  const output = { out: (line: string) => process.stdout.write(`${line}\n`), err: (line: string) => process.stderr.write(`${line}\n`) };
  if (withVirtualKey) {
    return runVirtualKeyLoginCommand({
      controlUrl: config.control?.url,
      store: () => createVirtualKeyStore({ dataDir: config.dataDir }),
      offeredMethods: (controlUrl) => fetchEnrollmentMethods(controlUrl),
      readKey: () => readSecretLine(process.stdin, process.stderr, 'Paste the virtual key your admin gave you (it is not shown) and press Enter: '),
      output,
    });
  }
  const deps = {
    config: config.auth,
    store: await createTokenStore({ dataDir: config.dataDir }),
    output,
    virtualKeys: await createVirtualKeyStore({ dataDir: config.dataDir }),
    ...(config.control ? { controlUrl: config.control.url } : {}),
  };
  if (command === 'whoami') return runWhoamiCommand(deps, { json: values.json === true });
  if (command === 'logout') return runLogoutCommand(deps);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await runLoginCommand({ ...deps, signal: abort.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify' && sub !== 'tail') throw new UsageError(sub ? `unknown audit subcommand "${sub}"` : 'audit needs a subcommand: verify or tail');
  const { values, positionals } = parseFlags(rest, { json: { type: 'boolean' }, limit: { type: 'string' }, config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'] });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = configFromFlags(values);
  const dbPath = auditDbPath(config.dataDir);
  if (!fs.existsSync(dbPath)) {
    process.stderr.write(`bifrost-edge: no audit trail at ${dbPath} yet (it is created when Edge first runs).\n`);
    return 2;
  }
  let result;
  if (sub === 'verify') {
    result = runAuditVerifyCommand({ dbPath, json: values.json === true });
  } else {
    const limit = typeof values.limit === 'string' ? Number(values.limit) : 20;
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number (got "${values.limit}")`);
    result = runAuditTailCommand({ dbPath, limit, json: values.json === true });
  }
  process.stdout.write(result.stdout.endsWith('\n') || result.stdout === '' ? result.stdout : `${result.stdout}\n`);
  return result.exitCode;
}

async function controlCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'serve') return runControlServeCommand(rest);
  if (sub === 'keys') return runControlKeysCommand(rest);
  throw new UsageError(sub ? `unknown control subcommand "${sub}"` : 'control needs a subcommand: serve or keys');
}

async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'] });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = configFromFlags(values);
  const runtime = readRuntimeFile(config.dataDir);
  if (!runtime) {
    process.stderr.write(`bifrost-edge: no agent is running for ${config.dataDir}. Start it with \`bifrost-edge run\` (or the Bifrost Edge app).\n`);
    return 3;
  }
  let status: { mode: string; proxy: string; gateway: string | null; policy: PolicyStatus };
  try {
    const res = await fetch(`${runtime.proxy}/status.json`, { signal: AbortSignal.timeout(5000) });
    status = await res.json() as typeof status;
  } catch (err) {
    process.stderr.write(`bifrost-edge: the agent at ${runtime.proxy} did not answer (${(err as Error).message}). Is it still starting?\n`);
    return 3;
  }
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`Mode:         ${status.mode}${status.gateway ? ` via ${status.gateway}` : ''}\nProxy:        ${status.proxy}\n`);
  process.stdout.write(formatStatus(status.policy, { json: false }));
  return 0;
}

async function scanCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, policy: { type: 'string' }, config: CONFIG_FLAGS.config, 'data-dir': CONFIG_FLAGS['data-dir'] });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (scan reads the text from stdin)`);
  if (typeof values.policy === 'string' && typeof values.config === 'string') {
    throw new UsageError('--policy and --config both choose the guardrail policy to scan with: give one of them');
  }
  const json = values.json === true;
  let chosen: { policy: unknown; source: ScanPolicySource };
  try {
    chosen = typeof values.policy === 'string' ? readScanPolicyFile(values.policy) : scanPolicyOfConfiguration(values);
  } catch (err) {
    if (!json) throw err;
    // A script reading --json parses stdout: the error is a JSON object there too, with the usual exit code.
    const configError = err instanceof ConfigError;
    const error = configError ? 'invalid configuration' : typeof values.policy === 'string' ? 'cannot read policy file' : 'cannot load the configuration';
    process.stdout.write(`${JSON.stringify({ error, errors: [(err as Error).message] }, null, 2)}\n`);
    return configError ? 2 : 1;
  }
  const input = await readStdin();
  const result = runScanCommand({ input, json, ...chosen });
  (result.exitCode === 0 || json ? process.stdout : process.stderr).write(result.stdout.endsWith('\n') ? result.stdout : `${result.stdout}\n`);
  return result.exitCode;
}

function readScanPolicyFile(file: string): { policy: string; source: ScanPolicySource } {
  try {
    return { policy: fs.readFileSync(file, 'utf8'), source: { kind: 'policy-file', file } };
  } catch (err) {
    throw new Error(`cannot read policy file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** The guardrails `run` would start with: the --config file and BIFROST_EDGE_* variables, under the managed configuration. */
function scanPolicyOfConfiguration(values: Record<string, string | boolean | undefined>): { policy: unknown; source: ScanPolicySource } {
  const loaded = loadFromFlags(values);
  const controlUrl = loaded.config.control?.url;
  // The agent applies the policyFile bundle's guardrails when it has any (GuardrailPolicyHolder.fromBundle).
  const policyFile = loaded.config.policyFile;
  if (policyFile !== undefined) {
    const bundle = readConfiguredPolicyFile(policyFile);
    if (bundle.guardrails !== undefined) return { policy: bundle.guardrails, source: { kind: 'policy-bundle', file: policyFile, ...(controlUrl ? { controlUrl } : {}) } };
  }
  return { policy: loaded.config.guardrails, source: { kind: 'configuration', origin: loaded.origin, ...(controlUrl ? { controlUrl } : {}) } };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Reading text to scan from stdin; end with Ctrl-D.\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

