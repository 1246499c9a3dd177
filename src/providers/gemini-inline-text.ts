import { MAX_MAX_INSPECT_BYTES } from '../guardrails/policy.js';

/**
 * Files a Gemini prompt carries inline (`inlineData: {mimeType, data}`, base64) that are text: source code,
 * scripts, documents, data. Their content is prompt text like any other, so it is decoded and read; images,
 * audio, video and PDFs are not text and stay unread.
 */

/** `application/…` subtypes that are text (beyond `text/*` and the `+json`/`+xml`/`+yaml` suffixes). */
const TEXTUAL_APPLICATION_SUBTYPES: ReadonlySet<string> = new Set([
  'json', 'x-ndjson', 'ndjson', 'jsonl', 'xml', 'javascript', 'x-javascript', 'ecmascript', 'typescript', 'x-typescript',
  'x-sh', 'x-shellscript', 'x-csh', 'x-python', 'x-python-code', 'x-ruby', 'x-perl', 'x-php', 'x-httpd-php',
  'yaml', 'x-yaml', 'toml', 'x-toml', 'sql', 'x-sql', 'csv', 'rtf', 'graphql', 'markdown', 'x-markdown',
  'x-tex', 'x-latex', 'x-www-form-urlencoded', 'x-java-source', 'x-c', 'x-csrc', 'x-go', 'x-rust', 'x-powershell',
]);

/** True for a MIME type whose bytes are text (`text/plain`, `text/markdown; charset=utf-8`, `application/json`, …). */
export function isTextualMimeType(mimeType: string): boolean {
  const essence = mimeType.split(';', 1)[0]!.trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0) return false;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (type === 'text') return true;
  if (/\+(json|xml|yaml)$/.test(subtype)) return true;
  return type === 'application' && TEXTUAL_APPLICATION_SUBTYPES.has(subtype);
}

/**
 * Enough base64 characters (without whitespace) for one byte more than the largest inspection limit any policy may
 * set: a longer file is decoded only that far, which is already over every limit, so the guardrails' oversize rule (block, or pass
 * uninspected where policy says so) decides about it without the whole file being held as a string.
 */
const MAX_DECODED_BASE64_CHARS = Math.ceil((MAX_MAX_INSPECT_BYTES + 1) / 3) * 4;

/**
 * The text of base64 `data` (standard or URL-safe alphabet, padded or not: Google's JSON accepts all of them),
 * decoded as UTF-8. Invalid sequences become U+FFFD, which never makes the text shorter than its bytes.
 */
export function decodeInlineText(data: string): string {
  if (data.length <= MAX_DECODED_BASE64_CHARS) return Buffer.from(data, 'base64').toString('utf8');
  const head = Buffer.from(data.slice(0, MAX_DECODED_BASE64_CHARS), 'base64');
  // Base64 wrapped in lines (MIME style, 76 characters and a line break) or spaced out decodes short: the head
  // can fall under every limit while the file does not, and its tail would go unread. Then the whole file is
  // decoded; the request body holding it already passed maxRequestBodyBytes.
  return (head.length > MAX_MAX_INSPECT_BYTES ? head : Buffer.from(data, 'base64')).toString('utf8');
}
