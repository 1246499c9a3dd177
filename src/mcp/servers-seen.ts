import type { SeenMcpServer } from '../control/protocol/heartbeat.js';
import { redactionLabel, redactSpans } from '../guardrails/redact-text.js';
import { detectSecrets } from '../guardrails/secret-detector.js';
import { SECRET_RULES } from '../guardrails/secret-rules/index.js';

/**
 * The MCP servers this device used since the agent started (stdio servers through the wrapper, remote
 * servers through the proxy), for the Edge Control heartbeat inventory and /status.json. Bounded, newest
 * kept: a device that churns through generated server names must not grow the agent's memory.
 */

const MAX_SERVERS = 200;
const MAX_TARGET_CHARS = 2000;

export class McpServerInventory {
  private readonly servers = new Map<string, SeenMcpServer>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** A stdio server the wrapper runs; `tools`: what its latest `tools/list` offered, when known. */
  recordStdio(name: string, command: readonly string[], tools?: readonly string[]): void {
    this.record({ name, transport: 'stdio', target: describeCommand(command) }, tools);
  }

  /** A remote server reached over Streamable HTTP; the query string is left out (it may carry a token). */
  recordHttp(host: string, path: string): void {
    this.record({ name: host, transport: 'http', target: `https://${host}${path.split('?')[0] ?? ''}`.slice(0, MAX_TARGET_CHARS) });
  }

  /** Newest first, in the heartbeat's format. */
  list(): SeenMcpServer[] {
    return [...this.servers.values()].reverse().map((server) => ({ ...server, ...(server.tools ? { tools: [...server.tools] } : {}) }));
  }

  private record(server: Omit<SeenMcpServer, 'last_seen'>, tools?: readonly string[]): void {
    const key = `${server.transport} ${server.name} ${server.target}`;
    const previous = this.servers.get(key);
    const known = tools ? tools.slice(0, 1000).map((t) => t.slice(0, 200)) : previous?.tools;
    // Re-inserted so the map's order is least recently seen first.
    this.servers.delete(key);
    this.servers.set(key, { ...server, ...(known ? { tools: known } : {}), last_seen: this.now().toISOString() });
    if (this.servers.size > MAX_SERVERS) this.servers.delete(this.servers.keys().next().value!);
  }
}

const SENSITIVE_NAME = /token|secret|passw(or)?d|api[-_]?key|auth|credential|private[-_]?key/i;

/**
 * A command line fit for an inventory: values that look like credentials are replaced. Wrapped servers
 * are often given their token on the command line (`--token ghp_…`, `GITHUB_TOKEN=… npx …`,
 * `https://user:pass@host`, or a bare `ghp_…`), and the inventory travels to Edge Control.
 */
export function describeCommand(command: readonly string[]): string {
  const line = maskCredentialArguments(command).join(' ');
  // Credentials with a recognisable shape, wherever they sit: the guardrails' own secret rules find them.
  return maskSecrets(line).slice(0, MAX_TARGET_CHARS);
}

/**
 * The command line with credentials masked, still one string per argument: what the wrapper tells the
 * agent (so a long argument can be shortened without cutting a credential in two that the agent would
 * then no longer recognise).
 */
export function maskCommand(command: readonly string[]): string[] {
  return maskCredentialArguments(command).map(maskSecrets);
}

/** Values named like credentials (`--token X`, `TOKEN=X`) and the passwords of URLs. */
function maskCredentialArguments(command: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < command.length; i++) {
    const arg = command[i]!;
    const assignment = /^(--?[\w.-]+|[A-Za-z_][\w]*)=(.*)$/s.exec(arg);
    if (assignment && SENSITIVE_NAME.test(assignment[1]!)) {
      out.push(`${assignment[1]}=[REDACTED]`);
    } else if (/^--?[\w.-]+$/.test(arg) && SENSITIVE_NAME.test(arg) && i + 1 < command.length && !command[i + 1]!.startsWith('-')) {
      out.push(arg, '[REDACTED]');
      i++;
    } else {
      out.push(arg.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[REDACTED]@'));
    }
  }
  return out;
}

function maskSecrets(text: string): string {
  const secrets = detectSecrets(text, SECRET_RULES).map((f) => ({ start: f.start, end: f.end, type: redactionLabel(f) }));
  return redactSpans(text, secrets);
}
