import { describe, expect, it } from 'vitest';
import { SseEventTransform } from '../../src/util/sse-event-transform.js';

/** Marks each event it is handed, so a test sees where the transform split the stream. */
class Marking extends SseEventTransform {
  readonly passed: string[] = [];
  constructor(max: number, private readonly oversize: 'pass' | 'pass-event' | 'drop' = 'pass-event') {
    super(max);
  }
  protected override rewrite(block: string): string {
    return `<${block}>`;
  }
  protected override onOversizeEvent(): { then: 'pass' } | { then: 'pass-event' } | { then: 'drop'; text: string } {
    return this.oversize === 'drop' ? { then: 'drop', text: '!' } : { then: this.oversize };
  }
  protected override onPassedText(text: string): void {
    this.passed.push(text);
  }
}

/** What the transform sends for `chunks`, written one by one (it works synchronously). */
function run(transform: SseEventTransform, chunks: Array<string | Buffer>): string {
  const out: Buffer[] = [];
  transform.on('data', (chunk: Buffer) => out.push(chunk));
  for (const chunk of chunks) transform.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  transform.end();
  return Buffer.concat(out).toString('utf8');
}

/** The events of `text` read whole (a line break at a line's start ends one), marked as Marking marks them. */
function reference(text: string): string {
  let out = '';
  let start = 0;
  let lineStart = 0;
  const lineBreak = /\r\n|\r|\n/g;
  for (let m = lineBreak.exec(text); m; m = lineBreak.exec(text)) {
    const end = m.index + m[0].length;
    if (m.index === lineStart) {
      out += `<${text.slice(start, end)}>`;
      start = end;
    }
    lineStart = end;
  }
  return out + text.slice(start);
}

describe('SseEventTransform', () => {
  it('splits events where a whole-text reader does, however the stream is chunked (LF, CRLF, CR, a CRLF split)', () => {
    const stream = 'event: a\ndata: 1\n\ndata: 2\r\n\r\n: note\rdata: 3\r\rdata: é\n\ndata: tail';
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const second of [cut, Math.min(stream.length, cut + 1), Math.min(stream.length, cut + 3)]) {
        const chunks = [stream.slice(0, cut), stream.slice(cut, second), stream.slice(second)];
        expect(run(new Marking(1000), chunks), `cut at ${cut}/${second}`).toBe(reference(stream));
      }
    }
  });

  it('a CR ending the stream ends its event; one split byte by byte keeps its UTF-8 characters', () => {
    expect(run(new Marking(1000), ['data: x\r\r'])).toBe('<data: x\r\r>');
    const bytes = Buffer.from('data: ça\n\n');
    expect(run(new Marking(1000), [...bytes].map((b) => Buffer.from([b])))).toBe('<data: ça\n\n>');
  });

  it('looks at each character once: a 16 MB event in 16 KB chunks is scanned in its own length, not once per chunk', () => {
    const event = `data: ${'x'.repeat(16 * 1024 * 1024)}\n\n`;
    const chunks: string[] = [];
    for (let i = 0; i < event.length; i += 16 * 1024) chunks.push(event.slice(i, i + 16 * 1024));
    const transform = new Marking(32 * 1024 * 1024);
    const out = run(transform, chunks);
    expect(out.length).toBe(event.length + 2);
    expect(transform.scannedChars).toBeLessThanOrEqual(event.length);
  });

  it('many small events and lines are scanned in the stream length too', () => {
    const stream = 'data: {"a":1}\nid: 7\n\n'.repeat(10_000);
    const transform = new Marking(1000);
    const chunks: string[] = [];
    for (let i = 0; i < stream.length; i += 7) chunks.push(stream.slice(i, i + 7));
    expect(run(transform, chunks)).toBe(reference(stream));
    expect(transform.scannedChars).toBeLessThanOrEqual(stream.length);
  });

  it("'pass-event': an oversize event passes unread, and the events after it are read again", () => {
    const big = `data: ${'y'.repeat(50)}\n\n`;
    const transform = new Marking(20);
    const out = run(transform, ['data: 1\n\n', big.slice(0, 30), big.slice(30), 'data: 2\n\n']);
    expect(out).toBe(`<data: 1\n\n>${big}<data: 2\n\n>`);
    expect(transform.passed.join('')).toBe(big);
  });

  it("'pass' lets the rest of the stream through; 'drop' replaces it", () => {
    const big = `data: ${'y'.repeat(50)}\n\n`;
    expect(run(new Marking(20, 'pass'), ['data: 1\n\n', big, 'data: 2\n\n'])).toBe(`<data: 1\n\n>${big}data: 2\n\n`);
    expect(run(new Marking(20, 'drop'), ['data: 1\n\n', big, 'data: 2\n\n'])).toBe('<data: 1\n\n>!');
  });

  it('a byte-order mark opening the stream goes out as it came, and is no part of the first event read', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const chunks of [[Buffer.concat([bom, Buffer.from('data: 1\n\n')])], [bom.subarray(0, 1), bom.subarray(1), Buffer.from('data: 1\n\n')]]) {
      expect(run(new Marking(100), [...chunks, 'data: 2\n\n'])).toBe('\uFEFF<data: 1\n\n><data: 2\n\n>');
    }
    // Only the stream's first character: a mark further on is text of the event.
    expect(run(new Marking(100), ['data: 1\n\n', '\uFEFFdata: 2\n\n'])).toBe('<data: 1\n\n><\uFEFFdata: 2\n\n>');
  });

  it('stopped in the middle of an event passing unread: that event is ended first, in the line breaks the stream uses', () => {
    /** Stops the stream at the first passed piece holding `!`, as the MCP filter does on a tools key. */
    class StopAtMark extends Marking {
      protected override onPassedText(text: string): void {
        if (text.includes('!')) this.stop('data: stopped\n\n');
      }
    }
    const cases: Array<[string[], string]> = [
      [['data: ' + 'y'.repeat(30), 'y!\n\n'], `data: ${'y'.repeat(30)}\n\ndata: stopped\n\n`],
      [['data: ' + 'y'.repeat(30) + '\r\n', 'data: !\r\n\r\n'], `data: ${'y'.repeat(30)}\r\n\r\ndata: stopped\n\n`],
      [['data: ' + 'y'.repeat(30) + '\r', '\ndata: !\r\n\r\n'], `data: ${'y'.repeat(30)}\r\n\r\ndata: stopped\n\n`],
      [['data: 1\r\n\r\ndata: ' + 'y'.repeat(30) + '\r', 'data: !\r\r'], `<data: 1\r\n\r\n>data: ${'y'.repeat(30)}\r\rdata: stopped\n\n`],
      [['data: ' + 'y'.repeat(30) + '\n', 'data: !\n\n'], `data: ${'y'.repeat(30)}\n\ndata: stopped\n\n`],
    ];
    for (const [chunks, expected] of cases) expect(run(new StopAtMark(20), chunks)).toBe(expected);
  });
});
