import { parseArgs } from 'node:util';
import { createLogger, type LogLevel } from '../../log.js';
import { ControlConfigError, loadControlServerConfigFile } from './config.js';
import { startControlServer } from './control-server.js';

export const CONTROL_SERVE_USAGE = `Usage: bifrost-edge control serve --config F [--port N] [--log-level L]

Runs the reference Edge Control server on 127.0.0.1. Prints one JSON "ready" line on stdout;
logs go to stderr; SIGINT/SIGTERM stop it.
  --config F      JSON config file (fields: src/control/server/config.ts; paths relative to the file)
  --port N        overrides listen.port (0 picks a free port)
  --log-level L   debug | info | warn | error | silent (overrides log_level)
Rotate the bundle-signing key with: bifrost-edge control keys --help
`;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * `bifrost-edge control serve`: returns the process exit code (0 after a clean SIGINT/SIGTERM stop,
 * 2 for usage or configuration errors, 1 when the server fails to start).
 */
export async function runControlServeCommand(argv: string[]): Promise<number> {
  let values: { config?: string; port?: string; 'log-level'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, port: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`bifrost-edge control serve: ${(err as Error).message}\n\n${CONTROL_SERVE_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(CONTROL_SERVE_USAGE);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`bifrost-edge control serve: --config is required\n\n${CONTROL_SERVE_USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadControlServerConfigFile(values.config);
    if (values.port !== undefined) {
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ControlConfigError(`--port ${JSON.stringify(values.port)} is not a port number (0–65535)`);
      config = { ...config, listen: { ...config.listen, port } };
    }
    const level = values['log-level'];
    if (level !== undefined) {
      if (!LOG_LEVELS.includes(level)) throw new ControlConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      config = { ...config, log_level: level as LogLevel };
    }
  } catch (err) {
    process.stderr.write(`bifrost-edge control serve: ${(err as Error).message}\n`);
    return 2;
  }

  const log = createLogger(config.log_level);
  let server;
  try {
    server = await startControlServer(config, { log });
  } catch (err) {
    process.stderr.write(`bifrost-edge control serve: could not start: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: server.url })}\n`);
  log.info('edge control server ready', { url: server.url, signing_key_id: server.signingKey.key_id });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log.info(`received ${signal}; stopping`);
  await server.close();
  return 0;
}
