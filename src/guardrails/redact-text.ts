/** Replacing finding spans with `[REDACTED:<type>]`, touching nothing else in the string. */

export interface RedactionSpan {
  start: number;
  end: number;
  type: string;
}

export function redactionMarker(type: string): string {
  return `[REDACTED:${type}]`;
}

/** Spans may overlap (custom rules over built-in ones): overlapping spans merge, keeping the first type. */
export function redactSpans(text: string, spans: readonly RedactionSpan[]): string {
  const ordered = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let cursor = 0;
  for (const span of ordered) {
    if (span.end <= cursor) continue;
    const start = Math.max(span.start, cursor);
    out += text.slice(cursor, start) + (start === span.start ? redactionMarker(span.type) : '');
    cursor = span.end;
  }
  return out + text.slice(cursor);
}
