import { describe, expect, it } from 'vitest';
import { MAX_MAX_INSPECT_BYTES } from '../../src/guardrails/policy.js';
import { decodeInlineText } from '../../src/providers/gemini-inline-text.js';

/** Base64 wrapped MIME style: 76 characters a line. */
function wrappedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
}

describe('decodeInlineText', () => {
  it('decodes standard, URL-safe and wrapped base64 alike', () => {
    const text = 'api_key = "sk-live-1234"\n'.repeat(20);
    const bytes = Buffer.from(text);
    expect(decodeInlineText(bytes.toString('base64'))).toBe(text);
    expect(decodeInlineText(bytes.toString('base64url'))).toBe(text);
    expect(decodeInlineText(wrappedBase64(bytes))).toBe(text);
  });

  it('stops decoding a long unwrapped file just past the largest inspection limit', () => {
    const bytes = Buffer.alloc(MAX_MAX_INSPECT_BYTES + 4096, 'a');
    const decoded = decodeInlineText(bytes.toString('base64'));
    expect(decoded.length).toBeGreaterThan(MAX_MAX_INSPECT_BYTES);
    expect(decoded.length).toBeLessThan(bytes.length);
  });

  it('reads a wrapped file over the limit to its end, so its tail is not left unread under every limit', () => {
    // Over the limit by less than the line breaks take up: the head alone would decode under it.
    const tail = 'AKIAIOSFODNN7EXAMPLE';
    const bytes = Buffer.concat([Buffer.alloc(MAX_MAX_INSPECT_BYTES + 1024, 'a'), Buffer.from(tail)]);
    const decoded = decodeInlineText(wrappedBase64(bytes));
    expect(decoded.length).toBe(bytes.length);
    expect(decoded.endsWith(tail)).toBe(true);
  });
});
