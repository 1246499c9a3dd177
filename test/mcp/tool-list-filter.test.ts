import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createToolListFilter, filterToolListMessage, toolListRequestIds, type ToolListFilterOptions } from '../../src/mcp/tool-list-filter.js';
import { runThrough } from '../support/transform-run.js';

const TOOLS = [
  { name: 'echo', description: 'Says it back — ünïcode intact', inputSchema: { type: 'object' } },
  { name: 'delete_repo', inputSchema: { type: 'object' } },
];
const list = (id: number | string, tools: unknown[] = TOOLS) => ({ jsonrpc: '2.0', id, result: { tools, nextCursor: 'c2' } });

/** A server's answer as the proxy hands it over: status and headers (200 unless said). */
const answer = (headers: Record<string, string>, statusCode = 200) => ({ statusCode, headers });

function options(overrides: Partial<ToolListFilterOptions> = {}): ToolListFilterOptions & { hidden: string[][] } {
  const hidden: string[][] = [];
  return {
    listIds: [1], visible: (tools) => tools.filter((t) => t === 'echo'), maxJsonBytes: 1 << 20, onHidden: (h) => hidden.push(h), hidden,
    request: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, server: 'mcp.example.test', ...overrides,
  };
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
  it('leaves alone answers that cannot hold a list (other types), and POSTs that asked for none', () => {
    expect(createToolListFilter(answer({ 'content-type': 'text/plain' }), options())).toBeUndefined();
    expect(createToolListFilter(answer({ 'content-type': 'application/json' }), options({ listIds: [] }))).toBeUndefined();
  });

  it('JSON: filters the whole answer, however it was split', async () => {
    const body = JSON.stringify(list(1));
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'application/json; charset=utf-8' }), options())!, [body.slice(0, 10), body.slice(10, 50), body.slice(50)]);
    expect(JSON.parse(out)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
  });

  it('JSON: a byte-order mark first is skipped, as fetch\'s Response.json() (the SDK client\'s reader) skips it: the list is filtered', async () => {
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'application/json' }), options())!, [`\uFEFF${JSON.stringify(list(1))}`]);
    expect(JSON.parse(out)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
  });

  it('JSON: one Edge cannot parse is withheld, since a laxer client parser might still read a list in it', async () => {
    for (const body of ['{"not json', `{"jsonrpc":"2.0","id":1,"result":{"tools":${JSON.stringify(TOOLS)},"score":NaN}}`]) {
      const out = JSON.parse(await runThrough(createToolListFilter(answer({ 'content-type': 'application/json' }), options())!, [body])) as { id: number; error: { message: string; data: { type: string } } };
      expect(out).toMatchObject({ id: 1, error: { data: { type: 'tool_list_unchecked' } } });
      expect(out.error.message).toMatch(/it is not valid JSON/);
    }
  });

  it('an error status passes as it came, so the server\'s own answer (an empty 401, an HTML 502 labelled JSON) reaches the client', async () => {
    for (const [status, body] of [[401, ''], [502, '<html><body>Bad gateway</body></html>'], [500, '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}']] as const) {
      const filter = createToolListFilter(answer({ 'content-type': 'application/json' }, status), options());
      expect(filter === undefined ? body : await runThrough(filter, [body])).toBe(body);
    }
  });

  it('JSON: an answer compressed although Edge asked for plain is decoded, filtered and sent plain', async () => {
    const body = zlib.gzipSync(JSON.stringify(list(1)));
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'application/json', 'content-encoding': 'gzip' }), options())!, [body.subarray(0, 9), body.subarray(9)]);
    expect(JSON.parse(out)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
    const nothingHidden = zlib.brotliCompressSync(JSON.stringify(list(1, [TOOLS[0]])));
    expect(JSON.parse(await runThrough(createToolListFilter(answer({ 'content-type': 'application/json', 'content-encoding': 'br' }), options())!, [nothingHidden]))).toEqual(list(1, [TOOLS[0]]));
  });

  it('JSON: an answer Edge cannot check is withheld: an error per request of the POST says why, never the unfiltered list', async () => {
    const body = JSON.stringify(list(1));
    const errorOf = async (headers: Record<string, string>, chunks: Array<string | Buffer>, overrides: Partial<ToolListFilterOptions> = {}) => {
      const out = JSON.parse(await runThrough(createToolListFilter(answer({ 'content-type': 'application/json', ...headers }), options(overrides))!, chunks)) as { id: number; error: { code: number; message: string; data: { type: string } } };
      expect(out).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32603, data: { type: 'tool_list_unchecked', source: 'bifrost-edge' } } });
      expect(out.error.message).toMatch(/^Bifrost Edge withheld the tool list from mcp\.example\.test: /);
      return out.error.message;
    };
    expect(await errorOf({}, [body.slice(0, 15), body.slice(15)], { maxJsonBytes: 20 })).toMatch(/larger than the 20 bytes Edge reads \(ask IT to raise proxy\.maxRequestBodyBytes\)/);
    // Small on the wire, too large once decoded (a decompression bomb is not inflated past the limit).
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024);
    expect(await errorOf({ 'content-encoding': 'gzip' }, [bomb], { maxJsonBytes: 4096 })).toMatch(/larger than the 4\.0 KiB Edge reads/);
    expect(await errorOf({ 'content-encoding': 'compress' }, [body])).toMatch(/compressed as "compress", which Edge cannot read/);
    expect(await errorOf({ 'content-encoding': 'gzip' }, [body])).toMatch(/it says it is compressed as "gzip" but is not valid gzip data, so Edge could not check/);
  });

  it('JSON: a withheld answer to a batch answers every request in it, so the client waits for none', async () => {
    const request = [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { jsonrpc: '2.0', id: 'p', method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }];
    const out = JSON.parse(await runThrough(createToolListFilter(answer({ 'content-type': 'application/json' }), options({ request, maxJsonBytes: 10 }))!, [JSON.stringify([list(1), { jsonrpc: '2.0', id: 'p', result: {} }])])) as Array<{ id: unknown; error: { data: { type: string } } }>;
    expect(out.map((m) => [m.id, m.error.data.type])).toEqual([[1, 'tool_list_unchecked'], ['p', 'tool_list_unchecked']]);
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
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'text/event-stream' }), options())!, chunks);
    expect(out.startsWith(note + progress)).toBe(true);
    const rewritten = out.slice((note + progress).length);
    expect(rewritten).toBe(`event: message\nid: 42\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } })}\n\ndata: {"tail":`);
  });

  it('SSE: a list split over several data lines is read whole', async () => {
    const json = JSON.stringify(list(1), null, 1);
    const event = `${json.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`;
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'text/event-stream' }), options())!, [event]);
    const data = JSON.parse(out.replace(/^data: /, '').trim()) as { result: { tools: Array<{ name: string }> } };
    expect(data.result.tools.map((t) => t.name)).toEqual(['echo']);
  });

  it('SSE: a stream compressed anyway is withheld: each list gets an error event, nothing else passes', async () => {
    const stream = zlib.gzipSync(`event: message\ndata: ${JSON.stringify(list(1))}\n\n`);
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }), options({ listIds: [1, 2] }))!, [stream.subarray(0, 5), stream.subarray(5)]);
    const events = out.split('\n\n').filter(Boolean).map((event) => JSON.parse(event.replace(/^event: message\ndata: /, '')) as { id: number; error: { message: string } });
    expect(events.map((e) => e.id)).toEqual([1, 2]);
    expect(events[0]!.error.message).toMatch(/came compressed \("gzip"\) as an event stream/);
  });

  it('SSE: from an event too large to check, the lists not yet answered get an error event and the rest is dropped', async () => {
    const progress = 'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n';
    const first = `data: ${JSON.stringify(list(1))}\n\n`;
    const huge = `data: ${JSON.stringify(list(2, [{ name: 'delete_repo', description: 'x'.repeat(5000) }]))}\n\n`;
    const after = `data: ${JSON.stringify({ jsonrpc: '2.0', id: 3, result: { tools: [] } })}\n\n`;
    const out = await runThrough(createToolListFilter(answer({ 'content-type': 'text/event-stream' }), options({ listIds: [1, 2, 3], maxJsonBytes: 4096 }))!, [progress + first, huge.slice(0, 3000), huge.slice(3000), after]);
    const events = out.split('\n\n').filter(Boolean);
    expect(events[0]).toBe(progress.trim());
    expect(JSON.parse(events[1]!.slice('data: '.length))).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [TOOLS[0]], nextCursor: 'c2' } });
    const withheld = events.slice(2).map((event) => JSON.parse(event.replace(/^event: message\ndata: /, '')) as { id: number; error: { message: string } });
    expect(withheld.map((e) => e.id)).toEqual([2, 3]);
    expect(withheld[0]!.error.message).toMatch(/one of its events is larger than the 4\.0 KiB Edge reads/);
    expect(out).not.toContain('delete_repo');
  });
});
