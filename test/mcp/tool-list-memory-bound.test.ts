import { describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/mcp-http-sessions.js';
import { MAX_TOOLS_PER_SERVER } from '../../src/mcp/server-dropped-tools.js';
import { ToolListMemory } from '../../src/mcp/tool-list-memory.js';
import type { ToolListVerdict } from '../../src/mcp/tool-list-guardrails.js';

/**
 * A session's (or wrapped server's) own memory of the tools the guardrails dropped is bounded as the server's is: a
 * server listing endless poisoned names in one session must not grow Edge's memory; the oldest dropped is forgotten,
 * and a long name is kept as its digest.
 */

function dropping(dropped: string[]): ToolListVerdict {
  return { action: 'show', tools: [], decision: 'redacted', findings: [], dropped };
}

describe('ToolListMemory: the tools its lists dropped', () => {
  it('keeps at most MAX_TOOLS_PER_SERVER, the oldest forgotten', () => {
    const memory = new ToolListMemory();
    const names = Array.from({ length: MAX_TOOLS_PER_SERVER + 50 }, (_, i) => `poison-${i}`);
    for (let i = 0; i < names.length; i += 10) memory.noteVerdict([], dropping(names.slice(i, i + 10)));
    const refused = names.map((name) => memory.callRefusal(name, 'srv') !== undefined);
    expect(refused.filter(Boolean)).toHaveLength(MAX_TOOLS_PER_SERVER);
    expect(refused.slice(0, 50).some(Boolean)).toBe(false);
    expect(refused.slice(50).every(Boolean)).toBe(true);
  });

  it('tells long names apart by their digest, and a clean list clears one', () => {
    const memory = new ToolListMemory();
    const long = 'x'.repeat(100_000);
    memory.noteVerdict([], dropping([`${long}a`]));
    expect(memory.callRefusal(`${long}a`, 'srv')?.type).toBe('guardrail_blocked');
    expect(memory.callRefusal(`${long}b`, 'srv')).toBeUndefined();
    memory.noteVerdict([], { action: 'show', tools: [{ name: `${long}a` }], decision: 'forwarded', findings: [], dropped: [] });
    expect(memory.callRefusal(`${long}a`, 'srv')).toBeUndefined();
  });

  it('in a Streamable HTTP session, past the bound a forgotten tool is refused by neither the session nor the server', () => {
    const sessions = new McpHttpSessions();
    const memory = sessions.session('h/mcp', 'one').memory;
    for (let list = 0; list < 20; list++) memory.noteVerdict([], dropping(Array.from({ length: 1000 }, (_, i) => `poison-${list}-${i}`)));
    expect(memory.callRefusal('poison-0-0', 'h')).toBeUndefined();
    expect(memory.callRefusal('poison-19-999', 'h')).toBeDefined();
    expect(sessions.session('h/mcp', 'two').memory.callRefusal('poison-19-999', 'h')).toBeDefined();
  });
});
