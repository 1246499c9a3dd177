import { spawnSync } from 'node:child_process';
import type { CommandResult } from '../installers/command-runner.js';

export type { CommandResult };

/**
 * Runs one program without a shell and waits for it. Synchronous because configuration loading is
 * (every command loads it before doing anything else); never throws for a failing command.
 */
export type SyncCommandRunner = (argv: readonly string[]) => CommandResult;

/** The real runner, with a time limit so a wedged system tool cannot stop Edge from starting forever. */
export const runSystemCommand: SyncCommandRunner = (argv) => {
  const [program, ...args] = argv;
  if (program === undefined) return { exitCode: 127, stdout: '', stderr: 'empty command' };
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 15_000, windowsHide: true, maxBuffer: 16 * 1024 * 1024 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { exitCode: 127, stdout: '', stderr: `${program}: command not found` };
    return { exitCode: 1, stdout: result.stdout ?? '', stderr: `${program} failed: ${result.error.message}` };
  }
  return { exitCode: result.status ?? 1, stdout: result.stdout, stderr: result.stderr || (result.signal ? `${program} was killed by ${result.signal}` : '') };
};
