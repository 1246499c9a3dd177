import { Readable, type Transform } from 'node:stream';

/** Pushes `chunks` through `transform` one by one and returns what came out, as UTF-8 text. */
export async function runThrough(transform: Transform, chunks: Array<string | Buffer>): Promise<string> {
  const out: Buffer[] = [];
  transform.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => transform.on('end', resolve));
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).pipe(transform);
  await ended;
  return Buffer.concat(out).toString('utf8');
}
