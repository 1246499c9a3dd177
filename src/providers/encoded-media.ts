/**
 * Whether a string is encoded media rather than text: at least 1 KiB of strict base64, bare or as an image, audio or
 * video `data:` URL's payload, whose decoded first bytes are a media file's signature (PNG, JPEG, GIF, WebP, WAV, MP3,
 * MP4, Ogg, WebM). Readers that take every string of a field they do not know (Voice Live's
 * `avatar.video.background.image_url`) leave such strings out, as the known readers leave image parts and image URLs
 * out by where they sit (realtime-events.ts readPart, openai-responses.ts OPAQUE_FIELDS): a model reads no text in them,
 * and an 8 MB background image read as text would fill the inspection limit and close a valid session.
 *
 * Each condition keeps text from passing for media. The size: a short `data:image/png;base64,AKIA…` is a key, not an
 * image (no real image is that small). The signature: words joined by `+`, camelCase names or hex are strict base64
 * too, at any length, but decode to no media header. Strict base64 (RFC 4648's alphabet, `=` padding at the end, no
 * spaces) and a non-text media type: a sentence, a token with `_`, `-` or `.`, or `data:text/plain;base64,...` is read.
 */
export function isEncodedMedia(text: string): boolean {
  const dataUrl = MEDIA_DATA_URL_HEAD.exec(text);
  const payload = dataUrl ? text.slice(dataUrl[0].length) : text;
  return payload.length >= MIN_MEDIA_CHARS && isStrictBase64(payload) && startsAsMedia(Buffer.from(payload.slice(0, 16), 'base64'));
}

/** `data:image/png;base64,`, `data:audio/wav;...;base64,` (media types and parameters have no spaces nor commas). */
const MEDIA_DATA_URL_HEAD = /^data:(?:image|audio|video)\/[^,\s]*;base64,/i;

/**
 * The shortest base64 payload taken for media: 1 KiB, past every key or token format (the longest, a JWT or a TURN
 * credential, are a few hundred characters), yet far below any image or sound a session is given.
 */
const MIN_MEDIA_CHARS = 1024;

function isStrictBase64(payload: string): boolean {
  return payload.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(payload);
}

/** Whether `head` (a file's first 12 bytes) is the signature of an image, audio or video file. */
function startsAsMedia(head: Buffer): boolean {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  return head.subarray(0, 8).equals(PNG_SIGNATURE)
    || (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) // JPEG
    || ascii(0, 4) === 'GIF8'
    || (ascii(0, 4) === 'RIFF' && ['WEBP', 'WAVE'].includes(ascii(8, 12)))
    || ascii(0, 3) === 'ID3' // MP3 with tags
    || (head[0] === 0xff && head[1] !== undefined && (head[1] & 0xe0) === 0xe0) // an MPEG audio frame's sync (MP3, AAC)
    || ascii(4, 8) === 'ftyp' // MP4, MOV, M4A, HEIC, AVIF
    || ascii(0, 4) === 'OggS'
    || head.subarray(0, 4).equals(EBML_SIGNATURE); // WebM, Matroska
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EBML_SIGNATURE = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);
