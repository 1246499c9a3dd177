import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pumpLines } from '../../src/mcp/line-pump.js';
import { LineSplitter, type SplitItem } from '../../src/mcp/line-splitter.js';
import { LineWriter } from '../../src/mcp/line-writer.js';

const lines = (items: SplitItem[]) => items.map((i) => (i.kind === 'line' ? i.line.toString('utf8') : `<oversize ${i.bytes}>`));

describe('LineSplitter: newline-delimited JSON-RPC framing', () => {
  it('splits several messages in one chunk and joins one message cut across chunks', () => {
    const s = new LineSplitter(1024);
    expect(lines(s.push(Buffer.from('{"a":1}\n{"b":2}\n{"c"')))).toEqual(['{"a":1}', '{"b":2}']);
    expect(lines(s.push(Buffer.from(':')))).toEqual([]);
    expect(lines(s.push(Buffer.from('3}\n')))).toEqual(['{"c":3}']);
  });

  it('keeps a UTF-8 character cut between chunks intact', () => {
    const bytes = Buffer.from('{"t":"café ✓"}\n');
    const s = new LineSplitter(1024);
    const out = [...bytes].flatMap((b) => s.push(Buffer.from([b])));
    expect(lines(out)).toEqual(['{"t":"café ✓"}']);
  });

  it('drops a \\r before the newline and skips blank lines', () => {
    const s = new LineSplitter(1024);
    expect(lines(s.push(Buffer.from('{"a":1}\r\n\n  \r\n{"b":2}\n')))).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('a last line without newline is still delivered at the end of input', () => {
    const s = new LineSplitter(1024);
    expect(lines(s.push(Buffer.from('{"a":1}')))).toEqual([]);
    expect(lines(s.end())).toEqual(['{"a":1}']);
    expect(lines(s.end())).toEqual([]);
  });

  it('a line over the bound is skipped to its newline without being held, and the next line is fine', () => {
    const s = new LineSplitter(10);
    const out = [...s.push(Buffer.from('0123456789ABC')), ...s.push(Buffer.from('DEF\n{"ok":1}\n'))];
    expect(lines(out)).toEqual(['<oversize 16>', '{"ok":1}']);
  });
});

describe('LineWriter and pumpLines: order and backpressure', () => {
  it('handles lines in order, one at a time, even when handling is slow', async () => {
    const source = new PassThrough();
    const seen: string[] = [];
    let active = 0;
    const done = pumpLines(source, {
      maxLineBytes: 1024,
      handle: async (item) => {
        active++;
        expect(active).toBe(1);
        await new Promise((r) => setTimeout(r, item.kind === 'line' && item.line.toString() === 'slow' ? 30 : 1));
        if (item.kind === 'line') seen.push(item.line.toString());
        active--;
      },
    });
    source.write('slow\nfast1\n');
    source.write('fast2\nlast');
    source.end();
    await done;
    expect(seen).toEqual(['slow', 'fast1', 'fast2', 'last']);
  });

  it('pauses the source while too much waits, and resumes when the destination drains', async () => {
    const source = new PassThrough({ highWaterMark: 16 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    let pausedSeen = false;
    const done = pumpLines(source, {
      maxLineBytes: 1 << 20,
      highWaterBytes: 64,
      handle: async () => {
        await gate;
      },
    });
    for (let i = 0; i < 20; i++) source.write(`${'x'.repeat(20)}\n`);
    await new Promise((r) => setTimeout(r, 20));
    pausedSeen = source.isPaused();
    release();
    source.end();
    await done;
    expect(pausedSeen).toBe(true);
  });

  it('a writer waits for drain and writes each line whole', async () => {
    const chunks: Buffer[] = [];
    let drainLater: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 8,
      write(chunk: Buffer, _enc, callback) {
        chunks.push(chunk);
        drainLater = callback;
      },
    });
    const writer = new LineWriter(slow, () => {});
    let resolved = false;
    const pending = writer.write(Buffer.from('a long line of JSON')).then(() => { resolved = true; });
    await new Promise((r) => setTimeout(r, 10));
    expect(resolved).toBe(false);
    drainLater!();
    await pending;
    expect(Buffer.concat(chunks).toString()).toBe('a long line of JSON\n');
  });
});
