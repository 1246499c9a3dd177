/**
 * multipart/form-data (RFC 7578, framed as RFC 2046 says) read from a body held in memory: each part's name,
 * filename and byte range, so text fields can be read, and replaced, while everything else (file parts and
 * their headers, the boundary, preamble and epilogue) goes out byte for byte under the same Content-Type.
 *
 * Hand-written rather than `Response.formData()` or busboy: both are asynchronous while Edge's body readers
 * are synchronous, and both hand back decoded values without their positions, so a redaction would have to
 * re-serialise the whole form under a new boundary. It is strict where parsers are known to disagree (folded
 * or bare-LF header lines, backslashes in a field name, a field named twice in one part, RFC 2231 `name*`): a
 * form the provider might read differently from Edge is refused rather than guessed at.
 */

export interface FormPart {
  /** The Content-Disposition `name`. */
  name: string;
  /**
   * Set when the part is a file upload: it names a file, and not an empty one. A part whose filename is empty is a
   * text field, as Go's mime/multipart (the Bifrost gateway's reader) takes it, so its content is read as text.
   */
  filename?: string;
  /** The part's headers, names lower-cased. */
  headers: ReadonlyMap<string, string>;
  /** Byte range of the part's content in the body. */
  start: number;
  end: number;
}

export interface MultipartForm {
  boundary: string;
  body: Buffer;
  parts: FormPart[];
}

export type FormReading = { ok: true; form: MultipartForm } | { ok: false; problem: string };

/** RFC 2046 `bchars`: the boundary may hold these (a space, but not at its end), 1 to 70 of them. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;
const CRLF = Buffer.from('\r\n');
const BLANK_LINE = Buffer.from('\r\n\r\n');

/** The media type of a Content-Type value, lower-cased (`multipart/form-data`). */
export function mediaTypeOf(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/** The `boundary` parameter of a multipart/form-data Content-Type, or what is wrong with it. */
export function boundaryOf(contentType: string): { ok: true; boundary: string } | { ok: false; problem: string } {
  const params = parametersOf(contentType);
  if (params === undefined) return { ok: false, problem: 'its Content-Type parameters are malformed (or name the boundary twice)' };
  // Go's mime reads `boundary*` in place of `boundary`, and fasthttp finds `boundary=` inside other parameters' values.
  const other = [...params.keys()].find((name) => !CONTENT_TYPE_PARAMETERS.has(name));
  if (other !== undefined) {
    return { ok: false, problem: `its Content-Type has a parameter other than boundary and charset (${other}), which servers read the boundary from in different ways: send \`multipart/form-data; boundary=…\`` };
  }
  const boundary = params.get('boundary');
  if (boundary === undefined) return { ok: false, problem: 'its Content-Type names no boundary' };
  const scanned = scannedBoundary(contentType);
  if (scanned === undefined) return { ok: false, problem: 'its Content-Type names boundary= more than once: send it once' };
  if (scanned !== boundary) {
    return { ok: false, problem: 'its Content-Type boundary is not written plainly (boundary=value or boundary="value", then ; or the end, no spaces or backslashes), so servers that scan for it read another one' };
  }
  if (!BOUNDARY.test(boundary)) {
    return { ok: false, problem: 'its Content-Type boundary is not a valid multipart boundary (1 to 70 letters, digits or \'()+_,-./:=? characters)' };
  }
  return { ok: true, boundary };
}

/** The parameters a multipart/form-data Content-Type may have: SDKs send the boundary, some Java clients a charset. */
const CONTENT_TYPE_PARAMETERS: ReadonlySet<string> = new Set(['boundary', 'charset']);

/**
 * The boundary as a plain text scan reads it (fasthttp's MultipartFormBoundary, under the Bifrost gateway): what
 * follows `boundary=` up to the next `;`, one pair of quotes taken off, nothing unescaped. Undefined when the
 * Content-Type holds `boundary=` more than once, since scanners differ on which one they take.
 */
function scannedBoundary(contentType: string): string | undefined {
  const found = [...contentType.matchAll(/boundary\s*=/gi)];
  if (found.length !== 1) return undefined;
  const value = contentType.slice(found[0]!.index! + found[0]![0].length).split(';', 1)[0]!;
  return value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** The parameters of a Content-Type value (`text/plain; charset=utf-8`), names lower-cased; undefined if malformed or one is named twice. */
export function parametersOf(contentType: string): Map<string, string> | undefined {
  const semicolon = contentType.indexOf(';');
  return semicolon === -1 ? new Map<string, string>() : contentTypeParameters(contentType.slice(semicolon + 1));
}

/** `; name=value` pairs (value a token or quoted string, RFC 9110), names lower-cased; undefined if malformed. */
function contentTypeParameters(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const pattern = /\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+\-.^_`|~0-9A-Za-z]+))\s*(?:;|$)/gy;
  let at = 0;
  while (at < text.length) {
    if (text.slice(at).trim() === '') break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (match === null) return undefined;
    const name = match[1]!.toLowerCase();
    if (params.has(name)) return undefined;
    params.set(name, match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!);
    at = pattern.lastIndex;
  }
  return params;
}

/** Splits a form into its parts; `problem` says what is malformed (never quoting the body). */
export function readMultipartForm(body: Buffer, boundary: string): FormReading {
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.concat([CRLF, dashBoundary]);
  // The first boundary starts the body, or ends a preamble (which is ignored) on a line of its own.
  let at = body.subarray(0, dashBoundary.length).equals(dashBoundary) ? 0 : body.indexOf(delimiter);
  if (at === -1) return { ok: false, problem: 'no line in it starts with the boundary its Content-Type names' };
  at += at === 0 && body[0] !== 0x0d ? dashBoundary.length : delimiter.length;
  /** Where each boundary line Edge read starts its `--boundary`. */
  const boundaryLines = [at - dashBoundary.length];
  const parts: FormPart[] = [];
  for (;;) {
    // The close delimiter `--boundary--` ends the form; what follows it (an epilogue) is not read, only searched for the boundary.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) {
      const stray = findStrayBoundary(body, dashBoundary, boundaryLines);
      return stray === undefined ? { ok: true, form: { boundary, body, parts } } : { ok: false, problem: stray };
    }
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    const which = `part ${parts.length + 1}`;
    if (at >= body.length) return { ok: false, problem: `it ends after the boundary of ${which} without the closing boundary (--boundary--): the upload looks cut off` };
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) return { ok: false, problem: `the boundary line of ${which} goes on after the boundary` };
    at += 2;
    const headersEnd = body.indexOf(BLANK_LINE, at);
    const nextDelimiter = body.indexOf(delimiter, at);
    if (headersEnd === -1 || (nextDelimiter !== -1 && nextDelimiter < headersEnd)) {
      return { ok: false, problem: `the headers of ${which} do not end with an empty line${nextDelimiter === -1 ? ' (the upload looks cut off)' : ''}` };
    }
    const head = readPartHead(body.toString('utf8', at, headersEnd));
    if (typeof head === 'string') return { ok: false, problem: `${which} ${head}` };
    const start = headersEnd + BLANK_LINE.length;
    const end = body.indexOf(delimiter, start);
    if (end === -1) {
      return { ok: false, problem: `${which} (field ${JSON.stringify(head.name)}) is cut off: the body ends before the boundary that should follow it` };
    }
    parts.push({ ...head, start, end });
    at = end + delimiter.length;
    boundaryLines.push(end + CRLF.length);
  }
}

/**
 * Where `--boundary` appears other than at the start of a boundary line Edge read: in the preamble, the epilogue,
 * or a part after a bare LF. Go's reader (the Bifrost gateway's) skips preamble lines up to the first line that
 * is the boundary, and takes LF-only framing when that line ends in a bare LF: such a body holds a second form
 * that Go reads instead of Edge's. The boundary must appear in no content (RFC 2046), so no SDK writes one.
 */
function findStrayBoundary(body: Buffer, dashBoundary: Buffer, boundaryLines: readonly number[]): string | undefined {
  const read = new Set(boundaryLines);
  for (let at = body.indexOf(dashBoundary); at !== -1; at = body.indexOf(dashBoundary, at + 1)) {
    if (read.has(at)) continue;
    // Part n lies between the n-th boundary line and the next one.
    const part = boundaryLines.filter((line) => line < at).length;
    const where = part === 0 ? 'before the first boundary line (in the preamble)'
      : part === boundaryLines.length ? 'after the closing boundary (in the epilogue)'
        : `inside part ${part}, not at the start of a line after CRLF`;
    return `the boundary its Content-Type names also appears ${where}, where servers that accept LF line breaks could read another form than Edge`
      + ' (send the form with CRLF line breaks, and a boundary that appears nowhere in its content)';
  }
  return undefined;
}

/**
 * A part's header block (between its boundary line and the empty line) read as readMultipartForm reads it: its
 * headers, field name and any filename, or what is wrong with them. Shared with the reader that sets a large
 * upload's file parts aside as they arrive (form-file-splitter.ts), so both take the same parts for files.
 */
export function readPartHead(block: string): Omit<FormPart, 'start' | 'end'> | string {
  const headers = readPartHeaders(block);
  if (typeof headers === 'string') return headers;
  const disposition = readDisposition(headers.get('content-disposition'));
  return typeof disposition === 'string' ? disposition : { ...disposition, headers };
}

function readPartHeaders(block: string): Map<string, string> | string {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const match = /[\r\n]/.test(line) ? null : HEADER_LINE.exec(line);
    if (match === null) return 'has a malformed header line (folded, or with a bare line break, or without a name)';
    const name = match[1]!.toLowerCase();
    if (headers.has(name)) return `has two ${name} headers`;
    headers.set(name, match[2]!);
  }
  return headers;
}

/**
 * `form-data; name="prompt"; filename="cat.png"`: values are tokens or quoted strings, in which browsers and
 * SDKs percent-encode `"`, CR and LF (HTML's form encoding), and Go backslash-escapes them (`\"`). A backslash
 * in the name is refused: some servers read it as an escape and others as itself, so the two could disagree
 * about which field it is; in a filename it only matters whether the name is empty, which it never changes.
 */
function readDisposition(value: string | undefined): { name: string; filename?: string } | string {
  if (value === undefined) return 'has no Content-Disposition header (each form field needs one naming it)';
  const [type, ...rest] = splitOutsideQuotes(value);
  if (type!.trim().toLowerCase() !== 'form-data') return 'is not a form field (its Content-Disposition is not form-data)';
  const params = new Map<string, string>();
  for (const param of rest) {
    const match = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S*?))\s*$/.exec(param);
    if (match === null || (match[3] !== undefined && match[3] !== '' && !TOKEN.test(match[3]))) return 'has a malformed Content-Disposition parameter';
    const key = match[1]!.toLowerCase();
    if (params.has(key)) return `names its ${key} twice in its Content-Disposition`;
    if (key === 'name' && match[2]?.includes('\\')) return 'has a backslash in its field name, which servers read in different ways';
    // RFC 2231 parameters (`name*`, `name*0`, …) replace the plain one in Go's reader and are ignored by others, so
    // the two would name the field differently. Only .NET's `filename*` is in use, and read below as Go reads it.
    if (key.includes('*') && key !== 'filename*') {
      return `has the extended parameter ${key} in its Content-Disposition, which some servers read in place of ${key.slice(0, key.indexOf('*'))} and others ignore: name the field with name="…" and a file with filename="…"`;
    }
    // A quoted value's `\x` is x (Go's multipart.Writer writes filename="my \"talk\".mp3"); the name has none, above.
    params.set(key, match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!);
  }
  const name = params.get('name');
  if (name === undefined) return 'has no field name (Content-Disposition name)';
  const extendedFilename = params.get('filename*');
  const decodedFilename = extendedFilename === undefined ? undefined : decodeExtendedValue(extendedFilename);
  if (decodedFilename === null) return 'has a filename* that is not a UTF-8 extended value (utf-8\'\'percent-encoded name): send the file name as filename="…"';
  // Go's reader takes filename* over filename, and a part whose filename is empty as a text value: so the part is a
  // file only when every filename it gives is non-empty, and otherwise a text field Edge reads.
  const filenames = [decodedFilename, params.get('filename')].filter((f): f is string => f !== undefined);
  const isFile = filenames.length > 0 && filenames.every((f) => f !== '');
  return { name: percentDecodeHtml(name), ...(isFile ? { filename: filenames[0]! } : {}) };
}

/** An RFC 5987 value (`utf-8''t%C3%A4lk.mp3`) decoded, as Go decodes it (UTF-8 or US-ASCII only); null if Go would not. */
function decodeExtendedValue(value: string): string | null {
  const match = /^(?:utf-8|us-ascii)'[^']*'(.*)$/i.exec(value);
  if (match === null || /%(?![0-9A-Fa-f]{2})/.test(match[1]!)) return null;
  return Buffer.from(match[1]!.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/** Splits on `;` outside double quotes; inside them a backslash escapes the next character (`\"` does not end them). */
function splitOutsideQuotes(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    if (quoted && value[i] === '\\') i++;
    else if (value[i] === '"') quoted = !quoted;
    else if (value[i] === ';' && !quoted) {
      out.push(value.slice(from, i));
      from = i + 1;
    }
  }
  out.push(value.slice(from));
  return out;
}

/** The three escapes HTML's multipart encoder writes in names (`%22`, `%0D`, `%0A`); nothing else is decoded. */
function percentDecodeHtml(text: string): string {
  return text.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

/** A part's content as text (UTF-8, as RFC 7578 and every SDK send it; form-request-body.ts refuses anything else). */
export function partText(form: MultipartForm, part: FormPart): string {
  return form.body.toString('utf8', part.start, part.end);
}

/**
 * The form with some parts' content replaced and text fields appended, everything else kept byte for byte,
 * boundary included (so the Content-Type stays right). Throws when a new value holds the boundary delimiter,
 * which would split the field: redaction markers (`[REDACTED:…]`) never can, since `[` is no boundary character.
 */
export function rewriteMultipartForm(form: MultipartForm, replaced: ReadonlyMap<FormPart, string>, appended: ReadonlyArray<{ name: string; value: string }> = []): Buffer {
  const delimiter = `\r\n--${form.boundary}`;
  const checked = (value: string): Buffer => {
    if (value.includes(delimiter)) throw new Error('a rewritten form field contains the form\'s boundary, so it cannot be written back into the form.');
    return Buffer.from(value, 'utf8');
  };
  const pieces: Buffer[] = [];
  let at = 0;
  for (const part of form.parts) {
    const value = replaced.get(part);
    if (value === undefined) continue;
    pieces.push(form.body.subarray(at, part.start), checked(value));
    at = part.end;
  }
  const last = form.parts[form.parts.length - 1];
  const insertAt = last?.end ?? -1;
  if (appended.length > 0 && insertAt >= at) {
    pieces.push(form.body.subarray(at, insertAt));
    for (const { name, value } of appended) {
      const quotedName = name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
      pieces.push(Buffer.from(`${delimiter}\r\nContent-Disposition: form-data; name="${quotedName}"\r\n\r\n`, 'utf8'), checked(value));
    }
    at = insertAt;
  } else if (appended.length > 0) {
    throw new Error('a text field cannot be appended to a form that has no parts.');
  }
  pieces.push(form.body.subarray(at));
  return Buffer.concat(pieces);
}
