import fs from 'node:fs';
import path from 'node:path';

/** The upload spool directory of the Edge whose data directory is `dataDir`. */
export const uploadsDir = (dataDir: string): string => path.join(dataDir, 'uploads');

/** The names of the upload spool files Edge holds now in `dataDir` (none when it never spooled one). */
export function spooledUploads(dataDir: string): string[] {
  const dir = uploadsDir(dataDir);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.startsWith('bifrost-edge-upload-')) : [];
}
