import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** POSIX permission bits mean little on Windows (ACLs decide there), so mode checks are skipped on it. */
const POSIX_MODES = process.platform !== 'win32';

/** Group/other permission bits: none of them may be set on the CA directory or key files. */
const GROUP_OR_OTHER_BITS = 0o077;

/**
 * Creates `dir` (and parents) owner-only, and tightens it to 0700 if it already exists with
 * group/other access: whoever can write there could swap in their own CA key.
 * Returns a note to log when the mode was changed, so the caller decides how to report it.
 */
export async function ensurePrivateDirectory(dir: string): Promise<string | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return tightenMode(dir, 0o700);
}

/** Tightens an existing file or directory to `mode` when it grants anything to group/other. */
export async function tightenMode(file: string, mode: number): Promise<string | undefined> {
  if (!POSIX_MODES) return undefined;
  const current = (await stat(file)).mode & 0o777;
  if ((current & GROUP_OR_OTHER_BITS) === 0) return undefined;
  await chmod(file, mode);
  return `${file} had mode ${current.toString(8)}; set to ${mode.toString(8)}`;
}

/**
 * Writes `content` to `file` so that readers see either the old or the new file, never a partial one,
 * and the new file has `mode` from the moment it exists: the data goes to a fresh temporary file
 * created with that mode (O_EXCL, so never an existing looser file), is flushed, then renamed over `file`.
 */
export async function writeFileAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', mode);
  try {
    // The umask may have removed bits (e.g. 0644 → 0600); set the exact mode asked for.
    if (POSIX_MODES) await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
