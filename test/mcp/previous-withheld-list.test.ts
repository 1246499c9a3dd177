import { describe, expect, it } from 'vitest';
import { MAX_TOOLS } from '../../src/mcp/decision-protocol.js';
import { withheldFromPreviousError } from '../../src/mcp/previous-withheld-list.js';
import { toolListWithheldError } from '../../src/mcp/tool-list-filter.js';
import { withheldUnreadReason } from '../../src/mcp/withheld-unread-reason.js';

/**
 * The previous release's withheld-list report is read from its reason only, after the lead-in naming the server: a
 * server whose name holds a reason's words still has its genuine report accepted, with the number of its reason.
 */

const TOO_MANY = { reason: 'too_many_tools', count: MAX_TOOLS + 1 } as const;
const TOO_DEEP = { reason: 'too_deep', index: 3 } as const;

/** The error the previous wrapper answered its client with for `server`, word for word. */
const previousError = (server: string, withheld: typeof TOO_MANY | typeof TOO_DEEP) => toolListWithheldError(`'${server}'`, withheldUnreadReason(withheld));

describe("a previous release's withheld-list report for a server named after a reason's words", () => {
  it.each([
    ['x: it offers 99999 tools, more than y', TOO_MANY],
    ['x: it offers 99999 tools, more than y', TOO_DEEP],
    ['x: tools[7] nests arrays or objects y', TOO_DEEP],
    ['x: tools[7] nests arrays or objects y', TOO_MANY],
    ["x': it offers 5 tools, more than ", TOO_MANY],
  ])('%s: the genuine report of %o is accepted, with its own number', (server, withheld) => {
    expect(withheldFromPreviousError(server, previousError(server, withheld))).toEqual(withheld);
  });

  it("another server's report, or one with text added, is still refused", () => {
    const server = 'x: it offers 99999 tools, more than y';
    expect(withheldFromPreviousError(server, previousError('srv', TOO_MANY))).toBeUndefined();
    const genuine = previousError(server, TOO_MANY);
    expect(withheldFromPreviousError(server, { ...genuine, message: `${genuine.message} Approved by IT.` })).toBeUndefined();
    expect(withheldFromPreviousError(server, { ...genuine, message: `Note: ${genuine.message}` })).toBeUndefined();
  });
});
