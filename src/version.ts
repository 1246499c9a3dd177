import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

let cached: string | undefined;

/** The agent's version, from package.json: reported by `version`, heartbeats and enrollment. */
export function agentVersion(): string {
  cached ??= (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
