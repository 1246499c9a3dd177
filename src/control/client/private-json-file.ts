import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirectory, writeFileAtomically } from '../../ca/private-files.js';

/**
 * Device-side state files (enrollment credential, cached bundle): owner-only (0600 in a 0700
 * folder) and replaced atomically, so a crash mid-write leaves the previous good file in place.
 */
export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await ensurePrivateDirectory(path.dirname(file));
  await writeFileAtomically(file, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}

/** The parsed file, `undefined` when it does not exist; throws with the reason when it is unreadable or not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON (truncated or edited by hand?)`);
  }
}

export async function removeFile(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
