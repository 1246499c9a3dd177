import { describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/mcp-http-sessions.js';
import { DroppedToolSet, MAX_SPELLINGS_PER_TOOL } from '../../src/mcp/server-dropped-tools.js';
import type { ToolListVerdict } from '../../src/mcp/tool-list-guardrails.js';

/**
 * McpHttpSessions folds the spellings of an endpoint into one server's memory, the safe direction for drops only: a
 * clean list clears a server-wide drop only when it comes from the spelling whose list dropped the tool. Behind a strict
 * router `h/mcp.` may be another server, listing a clean tool under the poisoned one's name. The fold reads paths as
 * the route look-alike checks do, non-ASCII bytes dropped or read as a slash.
 */

const EXEC_CLEAN = { name: 'exec', description: 'Runs a vetted command' };

function dropping(dropped: string[]): ToolListVerdict {
  return { action: 'show', tools: [], decision: 'redacted', findings: [], dropped };
}

function showing(tools: { name: string }[]): ToolListVerdict {
  return { action: 'show', tools, decision: 'forwarded', findings: [], dropped: [] };
}

function refusedInNewSession(sessions: McpHttpSessions, endpoint: string, tool: string): boolean {
  return sessions.session(endpoint, `new-${Math.random()}`).memory.callRefusal(tool, 'h')?.type === 'guardrail_blocked';
}

function refusedIn(sessions: McpHttpSessions, endpoint: string, sessionId: string, tool: string): boolean {
  return sessions.session(endpoint, sessionId).memory.callRefusal(tool, 'h')?.type === 'guardrail_blocked';
}

describe('a clean list at another spelling of the endpoint', () => {
  it.each(['h/mcp.', 'h/MCP', 'h/mc%70', 'h/mcp;v=2', 'h/mcp/'])("does not clear what /mcp's list dropped (%s), but lets its own session call there", (other) => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'a').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session(other, 'c').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(true);
    expect(refusedInNewSession(sessions, other, 'exec')).toBe(true);
    // The session that was shown exec clean at `other` calls the exec it was shown, there only.
    expect(refusedIn(sessions, other, 'c', 'exec')).toBe(false);
    expect(refusedIn(sessions, 'h/mcp', 'c', 'exec')).toBe(true);
  });

  it('at the spelling whose list dropped the tool, clears it', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'a').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'b').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(false);
    expect(refusedInNewSession(sessions, 'h/mc%70', 'exec')).toBe(false);
  });

  it('dropped at two spellings, stays refused until each has listed it clean', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'a').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp.', 'b').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'c').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(true);
    sessions.session('h/mcp.', 'd').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(false);
  });

  it('the spelling that dropped it clears it even in a session begun at another spelling', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'a').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    // One session, its requests spelled two ways: what each list clears follows the request that carried it.
    sessions.session('h/MCP', 'b').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(true);
    sessions.session('h/mcp', 'b').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusedInNewSession(sessions, 'h/mcp', 'exec')).toBe(false);
  });
});

describe('non-ASCII bytes in the endpoint, read as the look-alike checks read them', () => {
  it.each(['h/mcp%C2%A0', 'h/mcp\u00a0', 'h/%C2%A0mcp', 'h/mcp%E2%80%8B'])("a tool dropped from /mcp's list is refused at %s, one session with /mcp", (path) => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'a').memory.noteVerdict([], dropping(['exec']));
    expect(refusedInNewSession(sessions, path, 'exec')).toBe(true);
    expect(sessions.session(path, 'a').lists).toBe(sessions.session('h/mcp', 'a').lists);
  });

  it('a non-ASCII byte read as a slash: dropped at /a/mcp, refused at /a%C2%A0mcp, and the other way round', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/a/mcp', 'a').memory.noteVerdict([], dropping(['exec']));
    expect(refusedInNewSession(sessions, 'h/a%C2%A0mcp', 'exec')).toBe(true);

    const others = new McpHttpSessions();
    others.session('h/a%C2%A0mcp', 'a').memory.noteVerdict([], dropping(['exec']));
    expect(refusedInNewSession(others, 'h/a/mcp', 'exec')).toBe(true);
    expect(refusedInNewSession(others, 'h/amcp', 'exec')).toBe(true);
  });

  it('other paths stay apart', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp%C2%A0', 'a').memory.noteVerdict([], dropping(['exec']));
    expect(refusedInNewSession(sessions, 'h/mcp2', 'exec')).toBe(false);
    expect(refusedInNewSession(sessions, 'h/a/mcp', 'exec')).toBe(false);
  });
});

describe('DroppedToolSet: spellings per tool', () => {
  it('past MAX_SPELLINGS_PER_TOOL the oldest is forgotten, and the tool stays dropped until the kept ones clear it', () => {
    const set = new DroppedToolSet();
    const spellings = Array.from({ length: MAX_SPELLINGS_PER_TOOL + 1 }, (_, i) => `h/mcp${'.'.repeat(i)}`);
    for (const spelling of spellings) set.add('exec', spelling);
    set.delete('exec', spellings[0] as string);
    expect(set.has('exec')).toBe(true);
    for (const spelling of spellings.slice(1)) set.delete('exec', spelling);
    expect(set.has('exec')).toBe(false);
    expect(set.size).toBe(0);
  });
});
