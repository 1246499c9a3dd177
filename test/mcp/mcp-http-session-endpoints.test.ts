import { describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/mcp-http-sessions.js';
import type { ToolListVerdict } from '../../src/mcp/tool-list-guardrails.js';

/**
 * McpHttpSessions folds trailing slashes itself: `/mcp` and `/mcp/` reach the same server, so a caller outside the
 * proxy (which folded them before handing the endpoint over) gets one session and one server memory for both.
 */

function dropping(dropped: string[]): ToolListVerdict {
  return { action: 'show', tools: [], decision: 'redacted', findings: [], dropped };
}

describe('McpHttpSessions: an endpoint with or without trailing slashes', () => {
  it('is one session: the same outstanding lists and memory', () => {
    const sessions = new McpHttpSessions();
    const session = sessions.session('h/mcp', 's1');
    expect(sessions.session('h/mcp/', 's1')).toBe(session);
    expect(sessions.session('h/mcp//', 's1')).toBe(session);
    expect(sessions.session('h/mcp', 's2')).not.toBe(session);
    expect(sessions.session('h/mcpx', 's1')).not.toBe(session);
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
    expect(sessions.session('h/mcp', 's1')).not.toBe(session);
  });

  it('the root, spelled `h/` or `h`, is one endpoint', () => {
    const sessions = new McpHttpSessions();
    expect(sessions.session('h', undefined)).toBe(sessions.session('h/', undefined));
  });
});
