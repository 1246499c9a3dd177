import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when the program is missing (`missing`), timed out or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program is not installed (ENOENT). */
  missing?: boolean;
  timedOut?: boolean;
}

export interface RunOptions {
  /** Written to stdin then closed: the way secrets reach keychain tools, never argv (visible in `ps`). */
  input?: string;
  timeoutMs?: number;
}

export type CommandRunner = (file: string, args: string[], options?: RunOptions) => Promise<CommandResult>;

/** Runs a program without a shell and collects its output; never rejects, so callers branch on the result. */
export const runCommand: CommandRunner = (file, args, options = {}) =>
  new Promise<CommandResult>((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: null, stdout, stderr, timedOut: true });
    }, options.timeoutMs ?? 15_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error: NodeJS.ErrnoException) => finish({ code: null, stdout, stderr: stderr || error.message, missing: error.code === 'ENOENT' }));
    child.once('close', (code) => finish({ code, stdout, stderr }));
    // A tool that exits without reading stdin makes the write fail with EPIPE; its exit code tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
