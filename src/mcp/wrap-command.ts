import { parseArgs } from 'node:util';
import { wrapStdioServer } from './stdio-wrapper.js';

/** `bifrost-edge mcp …`: argument handling for the MCP subcommands (today: `wrap`). */

export const MCP_USAGE = `Usage: bifrost-edge mcp wrap --name <client-name> [--data-dir D] [--config F] -- <command> [args...]

Runs a stdio MCP server under Bifrost Edge: every tools/call is decided by the running agent (policy,
guardrails, audit) before the server sees it, and tools/list shows only the tools your key allows.
  --name N       the MCP client name your policy uses for this server (mcp_configs[].mcp_client_name)
  --data-dir D   the agent's data dir, to find the running agent (default: as for \`bifrost-edge run\`)
  --config F     the agent's config file (for its data dir)
Example (Claude Desktop / Cursor config):
  "command": "bifrost-edge",
  "args": ["mcp", "wrap", "--name", "github", "--", "npx", "-y", "@modelcontextprotocol/server-github"]
`;

/** Client names as Bifrost writes them: no spaces, and no characters a tool name could not carry. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$/;

/** The flags every command shares for finding its configuration, as the CLI reads them. */
export type ConfigFlags = { config?: string; 'data-dir'?: string };

/**
 * `dataDirFor` is the CLI's own configuration loader (file, environment, flags, managed settings), so the
 * wrapper looks for the agent exactly where `bifrost-edge run` and `status` put and find it.
 */
export async function runMcpCommand(args: string[], dataDirFor: (flags: ConfigFlags) => string): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(MCP_USAGE);
    return 0;
  }
  if (sub !== 'wrap') return usageError(sub ? `unknown mcp subcommand "${sub}"` : 'mcp needs a subcommand: wrap');
  const separator = rest.indexOf('--');
  if (separator === -1 || separator === rest.length - 1) {
    return usageError('give the MCP server\'s command after "--", e.g. -- npx -y @modelcontextprotocol/server-github');
  }
  let values: ConfigFlags & { name?: string };
  try {
    ({ values } = parseArgs({
      args: rest.slice(0, separator),
      options: { name: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.name === undefined) return usageError('--name is required: the MCP client name your policy uses for this server (mcp_configs[].mcp_client_name)');
  if (!CLIENT_NAME.test(values.name)) return usageError(`--name "${values.name}" must be 1-200 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`);
  const dataDir = dataDirFor({
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values['data-dir'] !== undefined ? { 'data-dir': values['data-dir'] } : {}),
  });
  return wrapStdioServer({ name: values.name, command: rest.slice(separator + 1), dataDir });
}

function usageError(message: string): number {
  process.stderr.write(`bifrost-edge mcp: ${message}\n\n${MCP_USAGE}`);
  return 2;
}
