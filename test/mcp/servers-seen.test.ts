import { describe, expect, it } from 'vitest';
import { SeenMcpServerSchema } from '../../src/control/protocol/heartbeat.js';
import { describeCommand, McpServerInventory } from '../../src/mcp/servers-seen.js';

describe('describeCommand: command lines fit for the inventory', () => {
  it.each([
    [['npx', '-y', '@modelcontextprotocol/server-github'], 'npx -y @modelcontextprotocol/server-github'],
    [['server', '--token', 'abc123', '--port', '80'], 'server --token [REDACTED] --port 80'],
    [['server', '--api-key=abc123'], 'server --api-key=[REDACTED]'],
    [['env', 'GITHUB_TOKEN=abc123', 'node', 's.js'], 'env GITHUB_TOKEN=[REDACTED] node s.js'],
    [['mcp-remote', 'https://user:pa55@mcp.example.com/sse'], 'mcp-remote https://[REDACTED]@mcp.example.com/sse'],
    [['server', 'ghp_R8x2Lq9ZtY4vWm1Kp7Nc3Hs6Jd0Fb5Ge2Ua8'], 'server [REDACTED:github_pat]'],
  ])('%j → %s', (command, expected) => {
    expect(describeCommand(command)).toBe(expected);
  });
});

describe('McpServerInventory', () => {
  it('lists servers newest first in the heartbeat format, with the tools last offered', () => {
    let t = Date.parse('2025-06-01T12:00:00Z');
    const inventory = new McpServerInventory(() => new Date((t += 1000)));
    inventory.recordStdio('github', ['npx', 'server-github'], ['search', 'create_issue']);
    inventory.recordHttp('mcp.example.com', '/mcp?token=secret');
    inventory.recordStdio('github', ['npx', 'server-github']);
    const list = inventory.list();
    expect(list).toEqual([
      { name: 'github', transport: 'stdio', target: 'npx server-github', tools: ['search', 'create_issue'], last_seen: '2025-06-01T12:00:03.000Z' },
      { name: 'mcp.example.com', transport: 'http', target: 'https://mcp.example.com/mcp', last_seen: '2025-06-01T12:00:02.000Z' },
    ]);
    for (const server of list) expect(SeenMcpServerSchema.parse(server)).toEqual(server);
  });

  it('is bounded: the least recently seen server goes first', () => {
    const inventory = new McpServerInventory();
    for (let i = 0; i < 250; i++) inventory.recordStdio(`s${i}`, ['node', 'x.js']);
    const names = inventory.list().map((s) => s.name);
    expect(names).toHaveLength(200);
    expect(names[0]).toBe('s249');
    expect(names).not.toContain('s49');
  });
});
