/**
 * Whether a string is encoded media rather than text: an image, audio or video `data:` URL whose payload is base64, or
 * a long run of nothing but base64 characters. Readers that take every string of a field they do not know (Voice Live's
 * `avatar.video.background.image_url`) leave such strings out, as the known readers leave image parts and image URLs
 * out by where they sit (realtime-events.ts readPart, openai-responses.ts OPAQUE_FIELDS): a model reads no text in them,
 * and an 8 MB background image read as text would fill the inspection limit and close a valid session.
 *
 * Only strict base64 counts (RFC 4648's alphabet, `=` padding at the end, no spaces), and a data URL only of a media
 * type that is no text (`data:text/plain;base64,...` is text a model may be given): a sentence, or a token with `_`,
 * `-` or `.` (GitHub, Slack, JWTs), pasted into such a field is still read.
 */
export function isEncodedMedia(text: string): boolean {
  const dataUrl = MEDIA_DATA_URL_HEAD.exec(text);
  if (dataUrl) return isStrictBase64(text.slice(dataUrl[0].length));
  return text.length >= MIN_BARE_BLOB_CHARS && isStrictBase64(text);
}

/** `data:image/png;base64,`, `data:audio/wav;...;base64,` (media types and parameters have no spaces nor commas). */
const MEDIA_DATA_URL_HEAD = /^data:(?:image|audio|video)\/[^,\s]*;base64,/i;

/**
 * The shortest bare base64 string taken for a blob: 1 KiB, past every key or token format (the longest, a JWT or a
 * TURN credential, are a few hundred characters), yet far below any media.
 */
const MIN_BARE_BLOB_CHARS = 1024;

function isStrictBase64(payload: string): boolean {
  return payload.length > 0 && payload.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(payload);
}
