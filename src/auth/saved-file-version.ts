import { stat } from 'node:fs/promises';

/**
 * What identifies the content of `file` without reading it: its inode, size and modification time,
 * which change whenever something is saved over it. Undefined when there is no file (or it can't be
 * looked at).
 */
export async function savedFileVersion(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}`;
  } catch {
    return undefined;
  }
}
