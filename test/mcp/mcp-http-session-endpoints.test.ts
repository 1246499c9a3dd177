import { describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/mcp-http-sessions.js';
import type { ToolListVerdict } from '../../src/mcp/tool-list-guardrails.js';

/**
 * McpHttpSessions folds the spellings of an endpoint that a lenient server routes alike (trailing slashes, escapes it
 * decodes, `;parameters` it drops, trailing blanks or dots, letter case), whoever calls it: the proxy hands the path
 * over as the request spelled it.
 */

function dropping(dropped: string[]): ToolListVerdict {
  return { action: 'show', tools: [], decision: 'redacted', findings: [], dropped };
}

describe('McpHttpSessions: an endpoint with or without trailing slashes', () => {
  it('is one session: the same outstanding lists and memory', () => {
    const sessions = new McpHttpSessions();
    const session = sessions.session('h/mcp', 's1');
    expect(sessions.session('h/mcp/', 's1').lists).toBe(session.lists);
    expect(sessions.session('h/mcp//', 's1').lists).toBe(session.lists);
    expect(sessions.session('h/mcp', 's2').lists).not.toBe(session.lists);
    expect(sessions.session('h/mcpx', 's1').lists).not.toBe(session.lists);
  });

  it("is one server: a tool dropped from /mcp's list is refused in a new session at /mcp/", () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'one').memory.noteVerdict([], dropping(['poison']));
    expect(sessions.session('h/mcp/', 'two').memory.callRefusal('poison', 'h')?.type).toBe('guardrail_blocked');
  });

  it('ending the session at /mcp/ ends the one at /mcp', () => {
    const sessions = new McpHttpSessions();
    const session = sessions.session('h/mcp', 's1');
    session.lists.add(1, false);
    sessions.end('h/mcp/', 's1');
    expect(sessions.session('h/mcp', 's1').lists).not.toBe(session.lists);
  });

  it('the root, spelled `h/` or `h`, is one endpoint', () => {
    const sessions = new McpHttpSessions();
    expect(sessions.session('h', undefined).lists).toBe(sessions.session('h/', undefined).lists);
  });
});

describe('McpHttpSessions: an endpoint as a lenient server routes it', () => {
  // As request-handler.ts hands them over: the request target's pathname after the host.
  const spellings = ['/mcp/', '/mc%70', '/mcp;jsessionid=x', '/mcp%20', '/mcp.', '/MCP', '/%6Dcp', '/mcp%2F', '/x/..;/mcp', '/mcp%00', '//mcp'];

  it.each(spellings)("a tool dropped from /mcp's list is refused in a new session at %s", (path) => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'one').memory.noteVerdict([], dropping(['poison']));
    expect(sessions.session(`h${path}`, 'two').memory.callRefusal('poison', 'h')?.type).toBe('guardrail_blocked');
  });

  it.each(spellings)('%s is the same session as /mcp', (path) => {
    const sessions = new McpHttpSessions();
    expect(sessions.session(`h${path}`, 's1').lists).toBe(sessions.session('h/mcp', 's1').lists);
  });

  it('other servers on the host, and the same path on another host, stay apart', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'one').memory.noteVerdict([], dropping(['poison']));
    for (const endpoint of ['h/mcp2', 'h/mcp/github', 'h/', 'other/mcp']) {
      expect(sessions.session(endpoint, 'two').memory.callRefusal('poison', 'other'), endpoint).toBeUndefined();
    }
  });
});
