/**
 * Newline-delimited message framing (MCP's stdio transport: one JSON-RPC message per line, no embedded
 * newlines). Chunks arrive cut anywhere, so a message may span many chunks and a chunk may hold many
 * messages; only the new chunk is searched for newlines, so a large message costs linear time.
 *
 * A line longer than `maxLineBytes` is not held in memory: it is skipped up to its newline and reported as
 * `oversize`, so the relay can answer for it instead of growing without bound.
 */

export type SplitItem =
  /** One complete line, without its `\n` (and a `\r` before it, which some Windows tools write). */
  | { kind: 'line'; line: Buffer }
  | { kind: 'oversize'; bytes: number };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of an oversize line skipped so far, or -1 while not skipping. */
  private skipped = -1;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): SplitItem[] {
    const items: SplitItem[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.hold(chunk.subarray(start));
        return items;
      }
      this.hold(chunk.subarray(start, newline));
      const item = this.takeLine();
      if (item) items.push(item);
      start = newline + 1;
    }
  }

  /** The input ended: a last line without a newline is still a line. */
  end(): SplitItem[] {
    const item = this.takeLine();
    return item ? [item] : [];
  }

  private hold(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipped >= 0) {
      this.skipped += piece.length;
      return;
    }
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
      this.skipped = this.pendingBytes + piece.length;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(piece);
    this.pendingBytes += piece.length;
  }

  private takeLine(): SplitItem | undefined {
    if (this.skipped >= 0) {
      const bytes = this.skipped;
      this.skipped = -1;
      return { kind: 'oversize', bytes };
    }
    let line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
    // Blank lines carry no message; MCP peers skip them too.
    return isBlank(line) ? undefined : { kind: 'line', line };
  }
}

/** Only spaces, tabs and carriage returns (stops at the first other byte, usually the first one: `{`). */
function isBlank(line: Buffer): boolean {
  for (const byte of line) if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  return true;
}
