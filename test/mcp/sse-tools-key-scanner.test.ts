import { describe, expect, it } from 'vitest';
import { createToolListFilter, type ToolListFilterOptions } from '../../src/mcp/tool-list-filter.js';
import { SseToolsKeyScanner } from '../../src/mcp/sse-tools-key-scanner.js';
import { eventData } from '../../src/util/sse-event-transform.js';
import { runThrough } from '../support/transform-run.js';
import { listToolsThroughFilter } from './sdk-event-stream-client.js';

/**
 * An SSE event larger than Edge reads passes unread unless its data may hold a tool list: a `tools` key, as a client
 * parsing the event reads it (escapes decoded). An ordinary large event whose text has a `\u` escape (a server that
 * writes ASCII-only JSON escapes every `é`) must pass; a key spelled `"\u0074ools"` must still end the stream.
 */

/** Whether the data of `event`, parsed as a client parses it, has an object with a `tools` key anywhere. */
function hasToolsKey(event: string): boolean {
  const walk = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.some(walk);
    if (value === null || typeof value !== 'object') return false;
    return Object.keys(value).includes('tools') || Object.values(value).some(walk);
  };
  return walk(JSON.parse(eventData(event) ?? 'null'));
}

/** The scanner's answer for `event` fed in `pieces` (cut at the given places). */
function scan(event: string, cuts: number[]): boolean {
  const scanner = new SseToolsKeyScanner();
  let from = 0;
  let found = false;
  for (const cut of [...cuts, event.length]) {
    found = scanner.feed(event.slice(from, cut));
    from = cut;
  }
  return found;
}

const CASES: Array<[string, string, boolean]> = [
  ['a plain key', 'data: {"result":{"tools":[]}}\n\n', true],
  ['a key with one escape', 'data: {"result":{"\\u0074ools":[]}}\n\n', true],
  ['a key all escapes, upper-case hex, space before the colon', 'data: {"result":{"\\u0074\\u006F\\u006f\\u006c\\u0073" : []}}\n\n', true],
  ['an escape in ordinary text', 'data: {"params":{"text":"caf\\u00e9 and tools"}}\n\n', false],
  ['"tools" as a value', 'data: {"text":"tools","list":["tools",1]}\n\n', false],
  ['"tools": inside a string, behind escaped quotes', 'data: {"a":"x\\"tools\\":1"}\n\n', false],
  ['a key after a string ending in an escaped backslash', 'data: {"a":"\\\\","tools":1}\n\n', true],
  ['keys that only look like it', 'data: {"toolsx":1,"tool":2,"Tools":3,"\\u0074ools\\u0000":4,"t\\nools":5}\n\n', false],
  ['a key and its colon on two data lines', 'data: {"result":\ndata: {"tools"\ndata:   :[]}}\n\n', true],
  ['no space after data:, CRLF lines', 'event: message\r\ndata:{"tools":[]}\r\n\r\n', true],
  ['quotes in other fields and comments are no JSON', 'event: "\nid: "tools":1\n: "tools":\ndata: {"a":"tools"}\n\n', false],
  ['a field only starting with data', 'datax: {"tools":1}\ndata: {"a":1}\n\n', false],
  ['runs of backslashes before quotes, then no key', `data: ${JSON.stringify({ a: '\\\\"tools":\\', b: '\\"', c: ['tools'] })}\n\n`, false],
  ['runs of backslashes before quotes, then a key', `data: ${JSON.stringify({ a: '\\\\"tools":\\', b: '\\"', tools: [] })}\n\n`, true],
];

describe('SseToolsKeyScanner', () => {
  it.each(CASES)('%s: as a client reads it, however the event is cut', (_name, event, expected) => {
    expect(hasToolsKey(event)).toBe(expected);
    for (let a = 0; a <= event.length; a++) {
      for (let b = a; b <= Math.min(event.length, a + 4); b++) expect(scan(event, [a, b]), `cut at ${a}/${b}`).toBe(expected);
    }
  });

  it('agrees with JSON.parse on many generated events, keys and text escaped at random', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const words = ['tools', 'tool', 'toolsx', 'é', 'x"y', 'a\\b', 'ümlaut', 'tab\t', ' tools', 'result'];
    const value = (depth: number): unknown => {
      const kind = depth > 3 ? 0 : Math.floor(random() * 3);
      if (kind === 0) return pick([pick(words), 1, null, true]);
      if (kind === 1) return [value(depth + 1), value(depth + 1)];
      return Object.fromEntries([pick(words), pick(words)].map((key) => [key, value(depth + 1)]));
    };
    // JSON as an ASCII-only or unusual server writes it: some characters of its strings escaped, some space around.
    const escaped = (text: string) => [...text].map((c) => (random() < 0.3 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(c).slice(1, -1))).join('');
    const write = (v: unknown): string => {
      if (typeof v === 'string') return `"${escaped(v)}"`;
      if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
      if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${write(k)}${pick(['', ' ', '\t'])}:${write(x)}`).join(',')}}`;
      return JSON.stringify(v);
    };
    let withKey = 0;
    for (let n = 0; n < 500; n++) {
      const json = write(value(0));
      const event = `event: message\ndata: ${json}\n\n`;
      const expected = hasToolsKey(event);
      if (expected) withKey++;
      const cut = Math.floor(random() * event.length);
      expect(scan(event, [cut]), event).toBe(expected);
    }
    // Both answers were tried many times.
    expect(withKey).toBeGreaterThan(50);
    expect(withKey).toBeLessThan(450);
  });
});

describe('an oversize event on an MCP event stream', () => {
  const options: ToolListFilterOptions = { listIds: [], anyListResult: true, visible: (tools) => tools.filter((t) => t !== 'admin'), maxJsonBytes: 1000, request: {}, server: 'mcp.example.test' };
  const SSE = { statusCode: 200, headers: { 'content-type': 'text/event-stream' } };
  const list = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 5, result: { tools: [{ name: 'admin' }, { name: 'search' }] } })}\n\n`;

  it('passes unread when its text holds an escape but no tools key, and the list after it is still filtered', async () => {
    const big = `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${'caf\\u00e9 '.repeat(300)}"}}\n\n`;
    const out = await runThrough(createToolListFilter(SSE, options)!, [big.slice(0, 600), big.slice(600), list]);
    expect(out.startsWith(big)).toBe(true);
    expect(JSON.parse(out.slice(big.length).split('data: ')[1]!)).toEqual({ jsonrpc: '2.0', id: 5, result: { tools: [{ name: 'search' }] } });
  });

  it('ends the stream with a JSON-RPC error when its key is "\\u0074ools": a real client gets it for its pending list', async () => {
    // Cut inside the escape, so part of the event has gone out when Edge sees the key: the client, reading the stream
    // as the MCP SDK does, must still get the error as an event of its own (a regex over the bytes would not tell).
    const seen = await listToolsThroughFilter((id) => {
      const big = `event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{"_meta":{"pad":"${'p'.repeat(1500)}"},"\\u0074ools":[{"name":"admin","inputSchema":{"type":"object"}}]}}\n\n`;
      const at = big.indexOf('\\u0074') + 3;
      return [big.slice(0, at), big.slice(at), list];
    }, { anyListResult: true, visible: options.visible, maxJsonBytes: 1000, server: 'mcp.example.test' });
    expect(seen.tools).toBeUndefined();
    expect(seen.error).toMatch(/Bifrost Edge withheld the tool list from mcp\.example\.test: one of its events is larger than the 1000 bytes Edge reads and may hold a tool list/);
  });
});
