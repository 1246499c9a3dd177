import { describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/mcp-http-sessions.js';
import type { ToolListVerdict } from '../../src/mcp/tool-list-guardrails.js';

/**
 * A drop made at one spelling of an endpoint (`h/mcp/`) is cleared server-wide only by a clean list at that spelling.
 * A client that only ever uses another spelling (`h/mcp`) must still be able to call the tool once its own latest list
 * there shows it clean: the refusal tells it exactly that, and the client that dropped it may never list again.
 */

const EXEC_CLEAN = { name: 'exec', description: 'Runs a vetted command' };

function dropping(dropped: string[]): ToolListVerdict {
  return { action: 'show', tools: [], decision: 'redacted', findings: [], dropped };
}

function showing(tools: { name: string }[]): ToolListVerdict {
  return { action: 'show', tools, decision: 'forwarded', findings: [], dropped: [] };
}

function refusal(sessions: McpHttpSessions, endpoint: string, sessionId: string, tool: string) {
  return sessions.session(endpoint, sessionId).memory.callRefusal(tool, 'h');
}

describe("a session's own clean list at its spelling, while a drop made at another spelling stands", () => {
  it("lets that session call the tool there (the reviewer's scenario)", () => {
    const sessions = new McpHttpSessions();
    // Client A, configured with a trailing slash, listed while exec was poisoned, then went away.
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    // The server is fixed; client B at h/mcp lists it clean, again and again, and calls it.
    for (let i = 0; i < 3; i++) sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')).toBeUndefined();
  });

  it('a new session calling before it lists is refused, with a message its first clean list then makes true', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));

    const refused = refusal(sessions, 'h/mcp', 'C', 'exec');
    expect(refused?.type).toBe('guardrail_blocked');
    expect(refused?.message).toContain('can be called again once the server lists it without that text');

    sessions.session('h/mcp', 'C').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp', 'C', 'exec')).toBeUndefined();
  });

  it('does not clear the drop for others, nor let the session call at the spelling that dropped it', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp/', 'B', 'exec')?.type).toBe('guardrail_blocked');
    expect(refusal(sessions, 'h/mcp/', 'D', 'exec')?.type).toBe('guardrail_blocked');
    expect(refusal(sessions, 'h/mcp', 'D', 'exec')?.type).toBe('guardrail_blocked');
  });

  it("the session's later list dropping the tool refuses it again at every spelling", () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    sessions.session('h/mcp', 'B').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')?.type).toBe('guardrail_blocked');
    // Cleared in the session again only by a clean list, and then at h/mcp once more.
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')).toBeUndefined();
  });

  it('a drop made after the session saw the tool clean, with no drop standing then, refuses the session too', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')?.type).toBe('guardrail_blocked');
  });

  it('a drop another session makes later, at any spelling, refuses that session again (review final, T1)', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')).toBeUndefined();
    // The server turns: a list in session C at B's own spelling carries a poisoned exec.
    sessions.session('h/mcp', 'C').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')?.type).toBe('guardrail_blocked');
  });

  it('a drop cleared and then made again elsewhere refuses that session again (review final, T3)', () => {
    const sessions = new McpHttpSessions();
    sessions.session('h/mcp/', 'A').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    sessions.session('h/mcp/', 'A').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    sessions.session('h/mcp/', 'D').memory.noteVerdict([{ name: 'exec' }], dropping(['exec']));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')?.type).toBe('guardrail_blocked');
    // Its next clean list counts against the drop standing then, and lets it call again.
    sessions.session('h/mcp', 'B').memory.noteVerdict([EXEC_CLEAN], showing([EXEC_CLEAN]));
    expect(refusal(sessions, 'h/mcp', 'B', 'exec')).toBeUndefined();
  });
});
