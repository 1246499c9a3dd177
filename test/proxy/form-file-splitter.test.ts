import { describe, expect, it } from 'vitest';
import { FormFileSplitter, FormTextTooLarge } from '../../src/proxy/form-file-splitter.js';
import { readMultipartForm, type FormReading } from '../../src/providers/multipart-form.js';

/**
 * The skeleton of a form (every byte but its file parts' content) must read, with readMultipartForm, as the whole
 * body does with its file parts emptied: the same parts, the same text, and for a malformed body the same problem.
 * Each body is split at every chunk size that can cut a boundary or a header block apart.
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
  'headers cut by a delimiter': Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n--${B}\r\n`), file('f', FILE), close]),
};

function split(body: Buffer, chunkSize: number): { skeleton: Buffer; splitter: FormFileSplitter } {
  const splitter = new FormFileSplitter(B, 1 << 20);
  for (let at = 0; at < body.length; at += chunkSize) splitter.push(body.subarray(at, at + chunkSize));
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
        const { skeleton, splitter } = split(body, size);
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
});
