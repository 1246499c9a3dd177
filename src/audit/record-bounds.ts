/**
 * Size bounds for the text an audit record carries. Much of it is chosen by whoever sent the request
 * (the model name, the path, the user agent, the message that repeats the model, JSON keys in finding
 * locations), and a request body may be 32 MiB. Unbounded, one such record was larger than any
 * receiver accepts (Edge Control: 32 MiB per batch; a reverse proxy in front: often 1 MiB), the shipper
 * resent it forever and nothing recorded after it was uploaded again. Bounded here, when the record is
 * built (before it is chained), a record stays far below those limits: worst case about 250 KiB.
 *
 * Sizes are counted as the record's JSON holds the text (UTF-8, escapes included), so a name made of
 * quotes or control characters cannot grow past the bound when it is stored or sent.
 */

/** Every top-level text field (model, message, path, host, app, reason, user, …): a few KiB. */
export const MAX_TEXT_FIELD_BYTES = 4096;
/** Each text of a finding (type, rule id, location): names and JSON paths are short. */
export const MAX_FINDING_FIELD_BYTES = 256;
/** Findings listed one by one; past that, one entry per rule with how many more it matched. */
export const MAX_FINDINGS = 100;
/** A fully retained prompt, whatever the policy's max_chars: the default (20,000 characters) always fits. */
export const MAX_CONTENT_TEXT_BYTES = 128 * 1024;

/** Bytes of one code point inside a JSON string literal, as JSON.stringify writes it. */
function jsonCodePointBytes(codePoint: number): number {
  if (codePoint === 0x22 || codePoint === 0x5c) return 2; // \" \\
  if (codePoint < 0x20) return codePoint === 0x08 || codePoint === 0x09 || codePoint === 0x0a || codePoint === 0x0c || codePoint === 0x0d ? 2 : 6;
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return 6; // a lone surrogate: \udxxx
  return codePoint <= 0xffff ? 3 : 4;
}

/**
 * The longest prefix of `text` that takes at most `maxBytes` in JSON, cut between characters (never
 * inside a surrogate pair). Returns the prefix's length in UTF-16 units.
 */
function jsonPrefixLength(text: string, maxBytes: number): number {
  let used = 0;
  let index = 0;
  while (index < text.length) {
    const codePoint = text.codePointAt(index)!;
    const bytes = jsonCodePointBytes(codePoint);
    if (used + bytes > maxBytes) break;
    used += bytes;
    index += codePoint > 0xffff ? 2 : 1;
  }
  return index;
}

/** Whether `text` takes at most `maxBytes` in JSON; cheap for long text (no full encoding). */
function fitsJson(text: string, maxBytes: number): boolean {
  // Every UTF-16 unit takes at least one byte, so longer text cannot fit; and at most six (\u0000), so
  // text that short fits without measuring (every field of every record passes here).
  if (text.length > maxBytes) return false;
  if (text.length * 6 <= maxBytes) return true;
  return Buffer.byteLength(JSON.stringify(text)) - 2 <= maxBytes;
}

/**
 * `text` when it fits in `maxBytes` of JSON; otherwise its beginning, cut on a character boundary,
 * followed by a visible `…(truncated, N bytes)` that gives the original UTF-8 size.
 */
export function boundText(text: string, maxBytes: number): string {
  if (fitsJson(text, maxBytes)) return text;
  const marker = `…(truncated, ${Buffer.byteLength(text)} bytes)`;
  const room = Math.max(0, maxBytes - (Buffer.byteLength(JSON.stringify(marker)) - 2));
  return text.slice(0, jsonPrefixLength(text, room)) + marker;
}

/** `text` cut to at most `maxBytes` of JSON on a character boundary, without a marker (the caller flags it). */
export function cutText(text: string, maxBytes: number): { text: string; cut: boolean } {
  if (fitsJson(text, maxBytes)) return { text, cut: false };
  return { text: text.slice(0, jsonPrefixLength(text, maxBytes)), cut: true };
}

export interface BoundableFinding {
  type: string;
  rule_id: string;
  action: 'block' | 'redact' | 'flag';
  location: string;
}

/**
 * Findings with each text bounded. Up to MAX_FINDINGS they are kept one per match, as found; beyond,
 * one entry per rule (type, rule id, action) at its first location, saying how many more it matched,
 * so every rule that fired is still named. Rules are configured, so they are few; the list is cut at
 * MAX_FINDINGS all the same, its last entry saying how many were left out.
 */
export function boundFindings(findings: readonly BoundableFinding[]): BoundableFinding[] {
  const bounded = (f: BoundableFinding, location = f.location): BoundableFinding => ({
    type: boundText(f.type, MAX_FINDING_FIELD_BYTES),
    rule_id: boundText(f.rule_id, MAX_FINDING_FIELD_BYTES),
    action: f.action,
    location: boundText(location, MAX_FINDING_FIELD_BYTES),
  });
  if (findings.length <= MAX_FINDINGS) return findings.map((f) => bounded(f));

  const perRule = new Map<string, { first: BoundableFinding; more: number }>();
  for (const f of findings) {
    const key = JSON.stringify([f.type, f.rule_id, f.action]);
    const entry = perRule.get(key);
    if (entry) entry.more += 1;
    else perRule.set(key, { first: f, more: 0 });
  }
  const entries = [...perRule.values()];
  const leftOut = entries.slice(MAX_FINDINGS).reduce((sum, { more }) => sum + more + 1, 0);
  const kept = entries.slice(0, MAX_FINDINGS);
  return kept.map(({ first, more }, index) => {
    const notes = more > 0 ? [`+${more} more matches`] : [];
    if (index === kept.length - 1 && leftOut > 0) notes.push(`+${leftOut} findings of other rules not listed`);
    const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    // The suffix (ASCII) goes after the bounded location, so it is never the part that gets cut.
    return bounded(first, boundText(first.location, MAX_FINDING_FIELD_BYTES - suffix.length) + suffix);
  });
}
