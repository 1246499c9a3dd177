/**
 * Builds and starts the reference relay (bench/reference-relay.c): the same reads and writes as
 * Edge's blind tunnel without a JavaScript runtime, so the tunnel scenario can show what any relay
 * process reaches on this machine beside what Edge reaches.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startJsonLineProcess, tempDir, type Started } from './processes.js';

export type ReferenceRelay = Started<{ proxy: string }>;

/** Compiles `source` with the system C compiler; says why when it cannot. */
export function compileReferenceRelay(source: string): { binary: string } | { unavailable: string } {
  if (!fs.existsSync(source)) return { unavailable: `${source} is missing` };
  const binary = path.join(tempDir('edge-bench-relay-'), 'reference-relay');
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', binary, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { binary };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    return { unavailable: e.code === 'ENOENT' ? 'no C compiler (cc); scripts/bench.sh installs gcc' : `cc failed: ${e.stderr?.toString().trim() ?? e.message}` };
  }
}

/** Compiles and starts the reference relay; resolves with it listening, or with why it is not run. */
export async function startReferenceRelay(source: string): Promise<ReferenceRelay | { unavailable: string }> {
  const built = compileReferenceRelay(source);
  if ('unavailable' in built) return built;
  return startJsonLineProcess<{ proxy: string }>(built.binary, []);
}
