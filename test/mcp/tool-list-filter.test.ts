import { Readable, type Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createToolListFilter, filterToolListMessage, toolListRequestIds, type ToolListFilterOptions } from '../../src/mcp/tool-list-filter.js';

const TOOLS = [
  { name: 'echo', description: 'Says it back — ünïcode intact', inputSchema: { type: 'object' } },
  { name: 'delete_repo', inputSchema: { type: 'object' } },
];
const list = (id: number | string, tools: unknown[] = TOOLS) => ({ jsonrpc: '2.0', id, result: { tools, nextCursor: 'c2' } });

function options(overrides: Partial<ToolListFilterOptions> = {}): ToolListFilterOptions & { hidden: string[][] } {
  const hidden: string[][] = [];
  return { listIds: [1], visible: (tools) => tools.filter((t) => t === 'echo'), maxJsonBytes: 1 << 20, onHidden: (h) => hidden.push(h), hidden, ...overrides };
}

/** Pushes `chunks` through the filter one by one and returns what came out. */
async function run(filter: Transform, chunks: Array<string | Buffer>): Promise<string> {
  const out: Buffer[] = [];
  filter.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).pipe(filter);
  await ended;
  return Buffer.concat(out).toString('utf8');
}

describe('toolListRequestIds', () => {
  it('finds tools/list requests in a message or a batch, and nothing else', () => {
    expect(toolListRequestIds({ jsonrpc: '2.0', id: 7, method: 'tools/list' })).toEqual([7]);
    expect(toolListRequestIds([{ jsonrpc: '2.0', id: 'a', method: 'tools/list' }, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: {} }, { jsonrpc: '2.0', method: 'notifications/initialized' }])).toEqual(['a']);
    expect(toolListRequestIds({ jsonrpc: '2.0', id: 1, method: 'resources/list' })).toEqual([]);
  });
});

describe('filterToolListMessage', () => {
  it('keeps the visible tools, untouched, and the rest of the result', () => {
    const o = options();
    expect(filterToolListMessage(list(1), o)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
    expect(o.hidden).toEqual([['delete_repo']]);
  });

  it('leaves alone answers to other requests ("1" is not 1), errors, and lists with nothing to hide', () => {
    const o = options();
    expect(filterToolListMessage(list('1'), o)).toBeUndefined();
    expect(filterToolListMessage(list(2), o)).toBeUndefined();
    expect(filterToolListMessage({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x' } }, o)).toBeUndefined();
    expect(filterToolListMessage(list(1, [TOOLS[0]]), o)).toBeUndefined();
    expect(o.hidden).toEqual([]);
  });

  it('filters inside a batch and keeps the other answers', () => {
    const other = { jsonrpc: '2.0', id: 5, result: { content: [] } };
    expect(filterToolListMessage([other, list(1)], options())).toEqual([other, { jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } }]);
  });
});

describe('createToolListFilter', () => {
  it('passes what it cannot read: compressed bodies, other types, no list requested', () => {
    expect(createToolListFilter({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, options())).toBeUndefined();
    expect(createToolListFilter({ 'content-type': 'text/plain' }, options())).toBeUndefined();
    expect(createToolListFilter({ 'content-type': 'application/json' }, options({ listIds: [] }))).toBeUndefined();
  });

  it('JSON: filters the whole answer, however it was split', async () => {
    const body = JSON.stringify(list(1));
    const out = await run(createToolListFilter({ 'content-type': 'application/json; charset=utf-8' }, options())!, [body.slice(0, 10), body.slice(10, 50), body.slice(50)]);
    expect(JSON.parse(out)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
  });

  it('JSON: an answer over the size limit, or one that is not JSON, passes as it came', async () => {
    const body = JSON.stringify(list(1));
    expect(await run(createToolListFilter({ 'content-type': 'application/json' }, options({ maxJsonBytes: 20 }))!, [body.slice(0, 15), body.slice(15)])).toBe(body);
    expect(await run(createToolListFilter({ 'content-type': 'application/json' }, options())!, ['{"not json'])).toBe('{"not json');
  });

  it('SSE: rewrites the list event and keeps every other event byte for byte, across chunk and character splits', async () => {
    const note = ': keep-alive\r\n\r\n';
    const progress = 'event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\r\n\r\n';
    const listEvent = `event: message\r\nid: 42\r\ndata: ${JSON.stringify(list(1))}\r\n\r\n`;
    const stream = Buffer.from(note + progress + listEvent + 'data: {"tail":');
    // Split inside CRLF pairs and inside the two-byte 'ü', one byte at a time around them.
    const cuts = [5, 14, 15, stream.indexOf(Buffer.from('ü')) + 1, stream.length - 30];
    const chunks: Buffer[] = [];
    let at = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      chunks.push(stream.subarray(at, cut));
      at = cut;
    }
    chunks.push(stream.subarray(at));
    const out = await run(createToolListFilter({ 'content-type': 'text/event-stream' }, options())!, chunks);
    expect(out.startsWith(note + progress)).toBe(true);
    const rewritten = out.slice((note + progress).length);
    expect(rewritten).toBe(`event: message\nid: 42\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } })}\n\ndata: {"tail":`);
  });

  it('SSE: a list split over several data lines is read whole', async () => {
    const json = JSON.stringify(list(1), null, 1);
    const event = `${json.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`;
    const out = await run(createToolListFilter({ 'content-type': 'text/event-stream' }, options())!, [event]);
    const data = JSON.parse(out.replace(/^data: /, '').trim()) as { result: { tools: Array<{ name: string }> } };
    expect(data.result.tools.map((t) => t.name)).toEqual(['echo']);
  });
});
