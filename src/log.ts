/**
 * A tiny leveled logger that writes to stderr only: stdout is reserved for machine-readable
 * output (the CLI's one `ready` line, `--json` answers), so nothing else may ever print there.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < threshold) return;
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
    write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = createLogger('silent');

/**
 * http-mitm-proxy reports through console.debug/info/error, which would land on stdout and break
 * the CLI's output contract. Route the console to the logger instead (debug level for chatter).
 */
export function routeConsoleToLogger(log: Logger): void {
  console.log = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  console.info = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  console.debug = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  console.warn = (...args: unknown[]) => log.warn(args.map(String).join(' '));
  console.error = (...args: unknown[]) => log.debug(args.map(String).join(' '));
}
