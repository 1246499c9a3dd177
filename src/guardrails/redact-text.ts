/** Replacing finding spans with `[REDACTED:<type>]`, touching nothing else in the string. */

export interface RedactionSpan {
  start: number;
  end: number;
  type: string;
}

/**
 * The placeholder's type: the credential kind for secrets (`aws_access_key_id`, from the rule id),
 * the PII type otherwise (`email`, `credit_card`), so a reader of the redacted prompt knows what
 * was there without seeing it.
 */
export function redactionLabel(finding: { type: string; ruleId: string }): string {
  return finding.type === 'secret' ? finding.ruleId.replace(/[^a-z0-9]+/gi, '_').toLowerCase() : finding.type;
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
