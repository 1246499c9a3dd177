/**
 * Scanning a streamed response (SSE deltas, chunked bodies) without buffering it: text is forwarded as it
 * arrives, and findings are reported — flag only, the bytes are already on their way — as soon as they are
 * certain. A secret split across two chunks (`sk-pro` + `j-…`) is still found, because the scanner keeps a
 * window of recent text and re-scans it with the next batch:
 *
 *   |<-------------- window (retained text) -------------->|<-- new text -->|
 *                                   decided up to here ^      ^ holdback: matches ending here may still grow
 *
 * A match is reported once: when it ends before the holdback zone, or at `end()`. Cost stays bounded:
 * scans run once per `minScanChars` of new text over at most `windowChars` + new text, and inspection
 * stops at the policy's maxInspectBytes (then `oversize` is set).
 */
import { ensureCompiled, type CompiledGuardrailPolicy } from './compile-policy.js';
import type { FindingType } from './finding.js';
import { scanText } from './scan-text.js';

export interface StreamFinding {
  type: FindingType;
  ruleId: string;
  /** UTF-16 offsets into the whole stream so far (all chunks concatenated). */
  start: number;
  end: number;
  confidence: number;
  action: 'flag';
}

export interface StreamScanner {
  /** Adds a chunk; returns findings that became certain. */
  push(chunk: string): StreamFinding[];
  /** Flushes: scans what is left and returns the remaining findings. Further pushes are ignored. */
  end(): StreamFinding[];
  /** UTF-8 bytes inspected so far. */
  readonly inspectedBytes: number;
  /** True once the stream went past maxInspectBytes; text after that point was not inspected. */
  readonly oversize: boolean;
}

export interface StreamScannerOptions {
  /** Retained text re-scanned with each batch; must exceed the longest token you expect split (PEM blocks). */
  windowChars?: number;
  /** Batch size: scan after this much new text (smaller = earlier findings, more re-scanning). */
  minScanChars?: number;
  /** Matches ending this close to the newest text wait for the next batch, since they may extend. */
  holdbackChars?: number;
}

const DEFAULTS = { windowChars: 8192, minScanChars: 1024, holdbackChars: 512 };
/** How far to look for a whitespace to cut the window at, so a token is not cut in half. */
const CUT_SEARCH = 256;

export function createStreamScanner(policy: CompiledGuardrailPolicy | unknown, options: StreamScannerOptions = {}): StreamScanner {
  const compiled = ensureCompiled(policy);
  const { windowChars, minScanChars, holdbackChars } = { ...DEFAULTS, ...options };
  const maxBytes = compiled.policy.maxInspectBytes;

  let buffer = '';
  let bufferStart = 0; // absolute offset of buffer[0]
  let decidedUpTo = 0; // matches ending at or before this absolute offset have been judged
  let unscanned = 0;
  let inspectedBytes = 0;
  let oversize = false;
  let ended = false;
  const reported: StreamFinding[] = [];

  const scan = (final: boolean): StreamFinding[] => {
    unscanned = 0;
    const bufferEnd = bufferStart + buffer.length;
    const certainBefore = final ? bufferEnd : bufferEnd - holdbackChars;
    const fresh: StreamFinding[] = [];
    for (const f of scanText(buffer, compiled)) {
      const start = bufferStart + f.start;
      const end = bufferStart + f.end;
      if (end <= decidedUpTo || end > certainBefore) continue;
      if (reported.some((r) => r.ruleId === f.ruleId && r.start < end && start < r.end)) continue;
      const finding: StreamFinding = { type: f.type, ruleId: f.ruleId, start, end, confidence: f.confidence, action: 'flag' };
      fresh.push(finding);
      reported.push(finding);
    }
    decidedUpTo = Math.max(decidedUpTo, certainBefore);
    trimWindow();
    return fresh;
  };

  const trimWindow = (): void => {
    if (buffer.length <= windowChars) return;
    let cut = buffer.length - windowChars;
    const space = buffer.slice(cut, cut + CUT_SEARCH).search(/\s/);
    if (space >= 0) cut += space + 1;
    buffer = buffer.slice(cut);
    bufferStart += cut;
    // Old findings can no longer overlap anything new; keep the dedupe list short.
    while (reported.length > 0 && reported[0]!.end < bufferStart) reported.shift();
  };

  return {
    push(chunk) {
      if (ended || oversize || chunk.length === 0) return [];
      let accepted = chunk;
      const bytes = Buffer.byteLength(chunk, 'utf8');
      if (inspectedBytes + bytes > maxBytes) {
        oversize = true;
        accepted = truncateToBytes(chunk, maxBytes - inspectedBytes);
      }
      inspectedBytes += Buffer.byteLength(accepted, 'utf8');
      buffer += accepted;
      unscanned += accepted.length;
      if (oversize) return scan(true);
      return unscanned >= minScanChars ? scan(false) : [];
    },
    end() {
      if (ended) return [];
      ended = true;
      return oversize ? [] : scan(true);
    },
    get inspectedBytes() {
      return inspectedBytes;
    },
    get oversize() {
      return oversize;
    },
  };
}

function truncateToBytes(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const encoded = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  return encoded.toString('utf8').replace(/\uFFFD$/, '');
}
