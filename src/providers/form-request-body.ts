import { isUtf8 } from 'node:buffer';
import { edgeError, type EdgeError } from '../edge-error.js';
import { parseJsonText, withoutByteOrderMark } from '../util/json-text.js';
import type { BodyReadResult, RouteMatch } from './adapter.js';
import { formatJsonPath } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { findDuplicateKey } from './json-duplicate-keys.js';
import { findFoldedKey, type FoldedKeyProblem } from './json-key-folding.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { boundaryOf, mediaTypeOf, parametersOf, partText, readMultipartForm, rewriteMultipartForm, type FormPart, type MultipartForm } from './multipart-form.js';

/**
 * A multipart/form-data upload as the value body readers and guardrails work on: its text fields by name (a
 * string, or strings in form order when the name repeats), so a prompt sits at `prompt` as in a JSON body;
 * a field the route sends as JSON text (the Realtime call's `session`) is its parsed value, so its
 * instructions sit at `session.instructions`. File parts are left out: they are never read as text, and go
 * out byte for byte. A changed value (a redaction) is written back into the same form, only the changed
 * fields' bytes replaced.
 */
export type FormFields = Record<string, unknown>;

/** How a route's form is read. */
export interface FormFieldRules {
  /**
   * Names the route reads as text (`prompt`, `model`). Sent as a file instead, a provider might still read
   * them as text, which Edge would not have: such a form is refused.
   */
  textFields: ReadonlySet<string>;
  /**
   * Text fields whose content is JSON (the Realtime call's `session`): read as JSON, once, and written back
   * as JSON when changed. Sent as a file, twice, or not as valid JSON, the form is refused.
   */
  jsonFields?: ReadonlySet<string>;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Transfer encodings that leave a text field's bytes as they are; anything else (base64) servers decode differently. */
const PLAIN_TRANSFER_ENCODINGS: ReadonlySet<string> = new Set(['7bit', '8bit', 'binary']);

/** Charsets a text field may declare: UTF-8 (.NET sends `charset=utf-8`) and its ASCII subset, the way Edge reads it. */
const UTF8_CHARSETS: ReadonlySet<string> = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * Single-byte charsets that read ASCII as ASCII. Apache HttpClient declares `charset=ISO-8859-1` on every text
 * field by default; a field of ASCII bytes reads the same in them as in UTF-8, so only such a field is taken.
 */
const ASCII_COMPATIBLE_CHARSETS: ReadonlySet<string> = new Set(['iso-8859-1', 'latin1', 'l1', 'iso_8859-1', 'windows-1252', 'cp1252', 'iso-8859-15']);

/**
 * The refusal (400) of a multipart/form-data body Edge cannot read, in one wording wherever it is found: by a route's
 * form reader (`route`: the call and its surface), or while a large upload is still arriving, before the route reads it.
 */
export function malformedFormError(problem: string, route?: { call: string; label: string }, provider?: string): EdgeError {
  const what = route === undefined ? 'The multipart/form-data upload' : `The multipart/form-data body of ${route.call} (${route.label})`;
  return edgeError(400, 'invalid_request',
    `${what} is malformed: ${problem}. Bifrost Edge forwards only uploads it can read; send a well-formed form (as the official SDKs and \`curl -F\` build it).`,
    provider === undefined ? undefined : { provider });
}

/** The form as its text fields by name (FormFields), read as `rules` says. */
export function readFormRequestBody(
  route: RouteMatch,
  raw: Uint8Array | undefined,
  entry: SurfaceEntry,
  contentType: string,
  rules: FormFieldRules,
): BodyReadResult {
  const jsonFields = rules.jsonFields ?? new Set<string>();
  const call = `${route.method} ${route.pathname}`;
  const refuse = (status: number, type: string, message: string): BodyReadResult => ({ ok: false, error: edgeError(status, type, message, { provider: entry.provider }) });
  const malformed = (problem: string): BodyReadResult => ({ ok: false, error: malformedFormError(problem, { call, label: entry.label }, entry.provider) });
  const mediaType = mediaTypeOf(contentType);
  if (mediaType !== 'multipart/form-data') {
    return refuse(415, 'unsupported_media_type',
      `Bifrost Edge reads uploads to ${call} (${entry.label}) only as multipart/form-data, not ${mediaType}. Send the form as multipart/form-data.`);
  }
  const boundary = boundaryOf(contentType);
  if (!boundary.ok) return malformed(boundary.problem);
  const body = raw === undefined ? Buffer.alloc(0) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const reading = readMultipartForm(body, boundary.boundary);
  if (!reading.ok) return malformed(reading.problem);
  const form = reading.form;

  const fields: FormFields = Object.create(null) as FormFields;
  const partsByName = new Map<string, FormPart[]>();
  for (const part of form.parts) {
    if (part.filename !== undefined) {
      if (rules.textFields.has(part.name) || jsonFields.has(part.name)) return malformed(`its ${JSON.stringify(part.name)} field is sent as a file; send it as a text field`);
      continue;
    }
    const encoding = part.headers.get('content-transfer-encoding')?.trim().toLowerCase();
    if (encoding !== undefined && !PLAIN_TRANSFER_ENCODINGS.has(encoding)) {
      return malformed(`its ${JSON.stringify(part.name)} field is sent with Content-Transfer-Encoding: ${encoding}; send text fields unencoded`);
    }
    const charset = charsetProblem(part.headers.get('content-type'), form.body.subarray(part.start, part.end));
    if (charset !== undefined) return malformed(`its ${JSON.stringify(part.name)} field ${charset}`);
    // Read leniently, a byte that is not UTF-8 would split a secret in two for Edge (U+FFFD), while a server that
    // drops such bytes reads it whole. JSON fields are checked as they are parsed (readJsonField).
    if (!jsonFields.has(part.name) && !isUtf8(form.body.subarray(part.start, part.end))) {
      return malformed(`its ${JSON.stringify(part.name)} field is not valid UTF-8 text, which servers read in different ways; send text fields as UTF-8`);
    }
    if (part.name === '_charset_' && !UTF8_CHARSETS.has(partText(form, part).trim().toLowerCase())) {
      // RFC 7578 4.6: the `_charset_` field sets the charset of the form's text fields for servers that honour it.
      // Not quoted: a field's value is the user's text.
      return malformed('its "_charset_" field names another charset than UTF-8, the only one Bifrost Edge reads text fields in; send the form as UTF-8');
    }
    const same = partsByName.get(part.name) ?? [];
    same.push(part);
    partsByName.set(part.name, same);
  }
  /** The JSON fields as read, serialised, to tell a changed value (a redaction) from the one the client sent. */
  const jsonAsRead = new Map<string, string>();
  for (const [name, parts] of partsByName) {
    const texts = parts.map((part) => partText(form, part));
    if (!jsonFields.has(name)) {
      fields[name] = texts.length === 1 ? texts[0]! : texts;
      continue;
    }
    if (texts.length !== 1) return malformed(`its ${JSON.stringify(name)} field is sent ${texts.length} times; send it once`);
    const json = readJsonField(name, form.body.subarray(parts[0]!.start, parts[0]!.end));
    if (!json.ok) return refuse(400, 'invalid_request', `The ${JSON.stringify(name)} field of the multipart/form-data body of ${call} (${entry.label}) ${json.problem}`);
    fields[name] = json.value;
    jsonAsRead.set(name, JSON.stringify(json.value));
  }
  return { ok: true, value: fields, encode: (changed) => encodeFields(form, partsByName, asFormTexts(changed, partsByName, jsonAsRead, form)) };
}

/**
 * What is wrong with the charset a text field's Content-Type declares, if anything. Edge reads text fields as
 * UTF-8; a server that honours `charset=utf-16` would read the same bytes as other text (a secret Edge sees with a
 * NUL between each letter). `charset` is looked for anywhere, since a scanning server may find it in a quoted value.
 */
function charsetProblem(contentType: string | undefined, bytes: Uint8Array): string | undefined {
  const mentions = contentType?.match(/charset/gi)?.length ?? 0;
  if (contentType === undefined || mentions === 0) return undefined;
  const charset = parametersOf(contentType)?.get('charset');
  if (mentions > 1 || charset === undefined) {
    return 'declares its charset in a way servers read differently (twice, in another parameter, or malformed); send text fields as UTF-8, with at most `Content-Type: text/plain; charset=utf-8`';
  }
  const name = charset.toLowerCase();
  if (UTF8_CHARSETS.has(name) || (ASCII_COMPATIBLE_CHARSETS.has(name) && bytes.every((byte) => byte < 0x80))) return undefined;
  return `declares the charset ${JSON.stringify(charset)}, which Bifrost Edge does not read text fields in${ASCII_COMPATIBLE_CHARSETS.has(name) ? ' beyond ASCII' : ''}; send text fields as UTF-8`;
}

/**
 * A JSON field's value, refused as JSON bodies are (json-body.ts): not JSON, or with keys the Bifrost gateway,
 * which matches keys regardless of letter case, would read otherwise than Edge. Messages never quote the text.
 */
function readJsonField(name: string, bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; problem: string } {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    // Decoded leniently, a byte that is not UTF-8 would split a secret in two for Edge, while the provider may read it otherwise.
    return { ok: false, problem: 'is not valid UTF-8 text. Send the JSON encoded as UTF-8.' };
  }
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch {
    const syntax = findJsonSyntaxError(withoutByteOrderMark(text));
    const where = syntax === undefined ? '' : `: ${syntax.problem} at line ${syntax.line}, column ${syntax.column}`;
    return { ok: false, problem: `is not valid JSON${where}. Bifrost Edge reads this field before forwarding the request; send it as JSON text (JSON.stringify of the object).` };
  }
  const duplicate = findDuplicateKey(withoutByteOrderMark(text));
  if (duplicate !== undefined) {
    // The object, not the key: a key may be data (a token pasted as a name).
    return { ok: false, problem: `has the same key twice in ${formatJsonPath([name, ...duplicate.path])}: Bifrost Edge reads only the last of two equal keys, but Go readers (the Bifrost gateway) merge two objects under one key, so the request could act on a value Edge never inspected. Send each key once and send the request again.` };
  }
  // Walked as the field's value under its name, so a problem's path reads `session.tools[0]` and nested structs are checked.
  const folded = findFoldedKey({ [name]: value });
  return folded === undefined ? { ok: true, value } : { ok: false, problem: foldedKeyProblem(folded) };
}

function foldedKeyProblem(problem: FoldedKeyProblem): string {
  const where = formatJsonPath(problem.path);
  const what = problem.kind === 'misspelled'
    ? `spells the field ${JSON.stringify(problem.field)} otherwise in ${where}`
    : problem.field === undefined
      ? `has two keys in ${where} that differ only in letter case (not quoted here: they may be data)`
      : `has the field ${JSON.stringify(problem.field)} twice in ${where}, in different letter case`;
  return `${what}: the Bifrost gateway matches field names regardless of letter case, so it could read another value than the one Bifrost Edge inspected. `
    + 'Send each field once, spelled exactly as the API documents it, and send the request again.';
}

/**
 * The changed value with its JSON fields back as text: the text the client sent when the value is unchanged (so
 * an untouched field keeps its bytes), else the new value serialised. Other fields are passed on as they are.
 */
function asFormTexts(changed: unknown, partsByName: ReadonlyMap<string, FormPart[]>, jsonAsRead: ReadonlyMap<string, string>, form: MultipartForm): unknown {
  if (jsonAsRead.size === 0 || changed === null || typeof changed !== 'object' || Array.isArray(changed)) return changed;
  const texts: Record<string, unknown> = { ...(changed as Record<string, unknown>) };
  for (const [name, asRead] of jsonAsRead) {
    if (!(name in texts)) continue;
    const serialised = JSON.stringify(texts[name]);
    if (serialised === undefined) throw new Error(`form field ${JSON.stringify(name)} holds JSON and can only be rewritten to a JSON value.`);
    texts[name] = serialised === asRead ? partText(form, partsByName.get(name)![0]!) : serialised;
  }
  return texts;
}

/** The form with the text fields `changed` holds: changed values replaced in place, new names appended. */
function encodeFields(form: MultipartForm, partsByName: ReadonlyMap<string, FormPart[]>, changed: unknown): Buffer {
  if (changed === null || typeof changed !== 'object' || Array.isArray(changed)) throw new Error('a form body can only be rewritten from its fields by name.');
  const replaced = new Map<FormPart, string>();
  const appended: Array<{ name: string; value: string }> = [];
  for (const [name, value] of Object.entries(changed)) {
    const values = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new Error(`form field ${JSON.stringify(name)} can only be rewritten to text.`);
    const parts = partsByName.get(name);
    if (parts === undefined) {
      for (const v of values as string[]) appended.push({ name, value: v });
      continue;
    }
    if (parts.length !== values.length) throw new Error(`form field ${JSON.stringify(name)} was sent ${parts.length} times and cannot be rewritten to ${values.length} values.`);
    parts.forEach((part, i) => {
      const next = values[i] as string;
      if (next !== partText(form, part)) replaced.set(part, next);
    });
  }
  return rewriteMultipartForm(form, replaced, appended);
}
