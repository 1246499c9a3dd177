import { describe, expect, it } from 'vitest';
import { FormFileSplitter, FormFramingBroken, FormTextTooLarge } from '../../src/proxy/form-file-splitter.js';
import { readMultipartForm, type FormReading } from '../../src/providers/multipart-form.js';

/**
 * The skeleton of a form (every byte but its file parts' content) must read, with readMultipartForm, as the whole
 * body does with its file parts emptied: the same parts, the same text, and for a malformed body the same problem.
 * Each body is split at every chunk size that can cut a boundary or a header block apart. Where the framing breaks
 * the splitter says so as soon as it sees it, in the reader's words, rather than keeping the rest of the body as text.
 */

const B = 'xYz--b0undary';
const FILE = Buffer.concat([Buffer.from('\x89PNG\r\n'), Buffer.from([0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0x00]), Buffer.alloc(300, 7), Buffer.from('\r\n-- not it\r\n')]);

function part(headers: string, content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`--${B}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
}
const text = (name: string, value: string) => part(`Content-Disposition: form-data; name="${name}"`, value);
const file = (name: string, content: Buffer | string, filename = 'cat.png') => part(`Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/png`, content);
const close = Buffer.from(`--${B}--\r\n`);

const CASES: Record<string, Buffer> = {
  'text and files': Buffer.concat([text('model', 'gpt-image-1'), file('image[]', FILE), text('prompt', 'a hat'), file('image[]', FILE, 'dog.png'), close]),
  'preamble, padding and epilogue': Buffer.concat([Buffer.from('preamble\r\n'), text('prompt', 'x').subarray(0, 2 + B.length), Buffer.from(' \t\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n'), file('f', FILE), close, Buffer.from('epilogue')]),
  'an empty file': Buffer.concat([file('f', ''), text('prompt', 'p'), close]),
  'a file with an empty filename is text': Buffer.concat([file('f', 'read me', ''), close]),
  'a stray boundary in a file after LF': Buffer.concat([file('f', Buffer.concat([FILE, Buffer.from(`\n--${B}\r\n`), FILE])), text('prompt', 'p'), close]),
  'a stray boundary at the start of a file': Buffer.concat([file('f', `--${B}abc`), close]),
  'a stray boundary in a file, then a broken part': Buffer.concat([file('f', `a\n--${B}`), Buffer.from(`--${B}\r\nno colon here\r\n\r\nx\r\n`), close]),
  'a stray boundary in the epilogue': Buffer.concat([file('f', FILE), close, Buffer.from(`--${B}`)]),
  'cut off inside a file': Buffer.concat([text('prompt', 'p'), file('f', FILE)]).subarray(0, -50),
  'a file of nothing but boundaries, then its delimiter': Buffer.concat([file('f', `--${B}`.repeat(40)), text('prompt', 'p'), close]),
  'a file of boundaries and CRs, then a text part': Buffer.concat([file('f', `\r--${B}\n--${B}\r\r`.repeat(8)), text('prompt', 'p'), close]),
  'cut off in a file after a stray': Buffer.concat([file('f', Buffer.concat([FILE, Buffer.from(`x--${B}`), FILE]))]).subarray(0, -10),
  'a boundary line that goes on': Buffer.concat([file('f', FILE), Buffer.from(`--${B}X\r\n`), close]),
  'malformed headers of a file part': Buffer.concat([part('Content-Disposition: form-data; name="a"; filename="a.png"\r\n folded', FILE), close]),
  'no boundary at all': Buffer.from('just some text\r\n\r\n'),
  'a closing `--` after transport padding': Buffer.concat([text('prompt', 'a hat'), Buffer.from(`--${B}  --\r\n`), file('f', FILE), close]),
  'headers cut by a delimiter': Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n--${B}\r\n`), file('f', FILE), close]),
};

/** The skeleton, or the problem the splitter refused the form for (its framing broke) with what it read up to then. */
function split(body: Buffer, chunkSize: number, maxSkeletonBytes = 1 << 20): { skeleton: Buffer; splitter: FormFileSplitter } | { broken: FormFramingBroken; read: number } {
  const splitter = new FormFileSplitter(B, maxSkeletonBytes);
  for (let at = 0; at < body.length; at += chunkSize) {
    try {
      splitter.push(body.subarray(at, at + chunkSize));
    } catch (err) {
      if (err instanceof FormFramingBroken) return { broken: err, read: Math.min(body.length, at + chunkSize) };
      throw err;
    }
  }
  return { skeleton: splitter.end(), splitter };
}

/** What a reading says, file contents left out. */
function summary(reading: FormReading, body: Buffer) {
  if (!reading.ok) return { problem: reading.problem };
  return { parts: reading.form.parts.map((p) => ({ name: p.name, filename: p.filename, headers: [...p.headers], text: p.filename === undefined ? body.toString('latin1', p.start, p.end) : '' })) };
}

describe('FormFileSplitter', () => {
  for (const [name, body] of Object.entries(CASES)) {
    it(`${name}: the skeleton reads as the whole body, file parts emptied`, () => {
      const whole = readMultipartForm(body, B);
      const expected = summary(whole, body);
      for (const size of [1, 2, 3, 5, 7, 13, 64, 1000, body.length]) {
        const splitting = split(body, size);
        if ('broken' in splitting) {
          expect({ problem: splitting.broken.problem }, `chunks of ${size}`).toEqual(expected);
          continue;
        }
        const { skeleton, splitter } = splitting;
        expect(summary(readMultipartForm(skeleton, B), skeleton), `chunks of ${size}`).toEqual(expected);
        if (!whole.ok) continue;
        // Each range set aside is a file part's content in the body, and the skeleton holds the rest.
        const files = whole.form.parts.map((p, i) => ({ p, i })).filter(({ p }) => p.filename !== undefined);
        expect(splitter.setAside, `chunks of ${size}`).toEqual(files.map(({ p, i }) => ({ part: i, start: p.start, end: p.end })));
        expect(skeleton.length + files.reduce((n, { p }) => n + p.end - p.start, 0)).toBe(body.length);
      }
    });
  }

  it('refuses a form whose text outside the files passes the bound, however large its files are', () => {
    const splitter = new FormFileSplitter(B, 4096);
    splitter.push(file('f', Buffer.alloc(100_000, 1)));
    expect(() => splitter.push(text('prompt', 'p'.repeat(5000)))).toThrow(FormTextTooLarge);
  });

  // A file part whose content holds the delimiter, then not a boundary line: the rest of a large upload is no text.
  const brokenByFile = (fileBytes: number) => Buffer.concat([text('prompt', 'a hat'), file('f', Buffer.concat([Buffer.from(`GIF89a\r\n--${B}X`), Buffer.alloc(fileBytes, 7)])), close]);

  it('refuses a form whose file breaks the framing as soon as the break arrives, in the reader\'s words, not as text too large', () => {
    const body = brokenByFile(100_000);
    const whole = readMultipartForm(body, B);
    expect(whole).toEqual({ ok: false, problem: 'the boundary line of part 3 goes on after the boundary' });
    const breakEnds = body.indexOf(`--${B}X`) + B.length + 4;
    for (const size of [1, 7, 64, 1000]) {
      // A bound far below the file's size: the break is told, not the text's size.
      const splitting = split(body, size, 4096);
      expect('broken' in splitting && { problem: splitting.broken.problem, read: splitting.read }, `chunks of ${size}`)
        .toEqual({ problem: whole.ok ? '' : whole.problem, read: Math.min(body.length, Math.ceil(breakEnds / size) * size) });
    }
  });

  it('does not take `--` after a boundary and transport padding for the closing boundary when a chunk ends in the padding', () => {
    // `--boundary  --` goes on after the boundary (only `--boundary--` closes the form): a large file after it is no epilogue to keep.
    const head = Buffer.concat([text('prompt', 'a hat'), Buffer.from(`--${B}  `)]);
    const tail = Buffer.concat([Buffer.from('--\r\n'), file('f', Buffer.alloc(100_000, 7)).subarray(2 + B.length + 2), close]);
    const whole = readMultipartForm(Buffer.concat([head, tail]), B);
    expect(whole).toEqual({ ok: false, problem: 'the boundary line of part 2 goes on after the boundary' });
    const splitter = new FormFileSplitter(B, 4096);
    splitter.push(head);
    expect(() => splitter.push(tail)).toThrow(new FormFramingBroken('the boundary line of part 2 goes on after the boundary'));
  });

  it('still refuses as text too large a form past the bound after its closing boundary, or before its first one', () => {
    const epilogue = new FormFileSplitter(B, 4096);
    epilogue.push(Buffer.concat([text('prompt', 'p'), close]));
    expect(() => epilogue.push(Buffer.alloc(5000, 0x41))).toThrow(FormTextTooLarge);
    const preamble = new FormFileSplitter(B, 4096);
    expect(() => preamble.push(Buffer.alloc(5000, 0x41))).toThrow(FormTextTooLarge);
  });
});
