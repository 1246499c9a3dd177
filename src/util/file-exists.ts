import { access } from 'node:fs/promises';

/** Whether `file` is there, without reading it; any error (missing, no permission) counts as not there. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
