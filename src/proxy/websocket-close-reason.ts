/** RFC 6455 allows a close reason of at most 123 bytes of UTF-8; `ws` throws on a longer one. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to fit a WebSocket close frame, at a character boundary (never half a UTF-8 sequence), ending in
 * `…` when cut so the reader knows there was more.
 */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  const room = MAX_CLOSE_REASON_BYTES - Buffer.byteLength('…');
  let cut = '';
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character);
    if (bytes + size > room) break;
    cut += character;
    bytes += size;
  }
  return `${cut}…`;
}
