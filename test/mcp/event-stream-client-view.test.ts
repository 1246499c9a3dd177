import { describe, expect, it } from 'vitest';
import type { ToolListFilterOptions } from '../../src/mcp/tool-list-filter.js';
import { listToolsThroughFilter } from './sdk-event-stream-client.js';

/**
 * What Edge's MCP event-stream filter sends must be read by a real client (the official SDK) as Edge read it:
 * a byte-order mark opening the stream (which the client's UTF-8 decoder strips) does not hide the first event's data
 * from Edge, and a stream ended in the middle of an event too large to read still delivers the error that answers the
 * pending list, as an event of its own.
 */

const options: Omit<ToolListFilterOptions, 'listIds' | 'request'> = {
  anyListResult: true, visible: (tools) => tools.filter((t) => t !== 'admin'), maxJsonBytes: 1000, server: 'mcp.example.test',
};
const tools = [{ name: 'admin', inputSchema: { type: 'object' } }, { name: 'search', inputSchema: { type: 'object' } }];
const BOM = '\uFEFF';

function listEvent(id: number, lineEnd = '\n'): string {
  return `event: message${lineEnd}data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { tools } })}${lineEnd}${lineEnd}`;
}

/** A list answer larger than Edge reads; its `tools` key on a data line of its own, after the large one. */
function largeListEvent(id: number, lineEnd = '\n'): string {
  return `event: message${lineEnd}data: {"jsonrpc":"2.0","id":${id},"result":{"_meta":{"pad":"${'p'.repeat(1500)}"},${lineEnd}`
    + `data: "tools":${JSON.stringify(tools)}}}${lineEnd}${lineEnd}`;
}

describe('a byte-order mark opening an MCP event stream', () => {
  it('the list in the first event is still filtered (the client strips the mark and reads it)', async () => {
    const seen = await listToolsThroughFilter((id) => [BOM + listEvent(id)], options);
    expect(seen).toEqual({ tools: ['search'] });
  });

  it('split across chunks byte by byte, with a data-only first event, likewise', async () => {
    const seen = await listToolsThroughFilter((id) => {
      const bytes = Buffer.from(`${BOM}data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { tools } })}\n\n`);
      return [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)];
    }, options);
    expect(seen).toEqual({ tools: ['search'] });
  });

  it('a list event larger than Edge reads ends the stream with the error, as it does without the mark', async () => {
    // One data line, all of it in the first chunk: nothing of it goes out before Edge has read the whole line.
    const seen = await listToolsThroughFilter((id) => [`${BOM}data: {"jsonrpc":"2.0","id":${id},"result":{"_meta":{"pad":"${'p'.repeat(1500)}"},"tools":${JSON.stringify(tools)}}}\n\n`], options);
    expect(seen.tools).toBeUndefined();
    expect(seen.error).toMatch(/Bifrost Edge withheld the tool list from mcp\.example\.test: one of its events is larger than the 1000 bytes Edge reads/);
  });
});

describe('a stream Edge ends in the middle of an event too large to read', () => {
  const cases: Array<[string, string, (event: string) => number]> = [
    ['LF, cut in the middle of a data line', '\n', (event) => event.indexOf('"pad"') + 1200],
    ['CRLF, cut in the middle of a data line', '\r\n', (event) => event.indexOf('"pad"') + 1200],
    ['LF, cut at a line end', '\n', (event) => event.indexOf('\ndata: "tools"') + 1],
    ['CRLF, cut between the CR and LF of a line end', '\r\n', (event) => event.indexOf('\r\ndata: "tools"') + 1],
    ['CR, cut at a line end', '\r', (event) => event.indexOf('\rdata: "tools"') + 1],
  ];
  it.each(cases)('%s: the client gets the JSON-RPC error answering its pending list, as an event of its own', async (_name, lineEnd, cut) => {
    const seen = await listToolsThroughFilter((id) => {
      const event = largeListEvent(id, lineEnd);
      const at = cut(event);
      return [event.slice(0, at), event.slice(at), listEvent(id + 100, lineEnd)];
    }, options);
    expect(seen.tools).toBeUndefined();
    expect(seen.error).toMatch(/Bifrost Edge withheld the tool list from mcp\.example\.test: one of its events is larger than the 1000 bytes Edge reads and may hold a tool list/);
  });
});
