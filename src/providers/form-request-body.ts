import { edgeError } from '../edge-error.js';
import type { BodyReadResult, RouteMatch } from './adapter.js';
import type { SurfaceEntry } from './catalog.js';
import { boundaryOf, mediaTypeOf, partText, readMultipartForm, rewriteMultipartForm, type FormPart, type MultipartForm } from './multipart-form.js';

/**
 * A multipart/form-data upload as the value body readers and guardrails work on: its text fields by name (a
 * string, or strings in form order when the name repeats), so a prompt sits at `prompt` as in a JSON body.
 * File parts are left out: they are never read as text, and go out byte for byte. A changed value (a
 * redaction) is written back into the same form, only the changed fields' bytes replaced.
 */
export type FormFields = Record<string, string | string[]>;

/** Transfer encodings that leave a text field's bytes as they are; anything else (base64) servers decode differently. */
const PLAIN_TRANSFER_ENCODINGS: ReadonlySet<string> = new Set(['7bit', '8bit', 'binary']);

/**
 * `textFields`: names the route reads as text (`prompt`, `model`). Sent as a file instead, a provider might
 * still read them as text, which Edge would not have: such a form is refused.
 */
export function readFormRequestBody(
  route: RouteMatch,
  raw: Uint8Array | undefined,
  entry: SurfaceEntry,
  contentType: string,
  textFields: ReadonlySet<string>,
): BodyReadResult {
  const call = `${route.method} ${route.pathname}`;
  const refuse = (status: number, type: string, message: string): BodyReadResult => ({ ok: false, error: edgeError(status, type, message, { provider: entry.provider }) });
  const malformed = (problem: string): BodyReadResult => refuse(400, 'invalid_request',
    `The multipart/form-data body of ${call} (${entry.label}) is malformed: ${problem}. Bifrost Edge forwards only uploads it can read; `
      + 'send a well-formed form (as the official SDKs and `curl -F` build it).');
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
      if (textFields.has(part.name)) return malformed(`its ${JSON.stringify(part.name)} field is sent as a file; send it as a text field`);
      continue;
    }
    const encoding = part.headers.get('content-transfer-encoding')?.trim().toLowerCase();
    if (encoding !== undefined && !PLAIN_TRANSFER_ENCODINGS.has(encoding)) {
      return malformed(`its ${JSON.stringify(part.name)} field is sent with Content-Transfer-Encoding: ${encoding}; send text fields unencoded`);
    }
    const same = partsByName.get(part.name) ?? [];
    same.push(part);
    partsByName.set(part.name, same);
  }
  for (const [name, parts] of partsByName) {
    const texts = parts.map((part) => partText(form, part));
    fields[name] = texts.length === 1 ? texts[0]! : texts;
  }
  return { ok: true, value: fields, encode: (changed) => encodeFields(form, partsByName, changed) };
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
