import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Process exit code; 127 when the program does not exist (as a shell reports it). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs one program with arguments, without a shell; never throws for a failing command. */
export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

/** The real runner: execFile with a time limit, so a command waiting for a prompt cannot hang forever. */
export const execCommand: CommandRunner = (argv) =>
  new Promise((resolve) => {
    const [program, ...args] = argv;
    if (program === undefined) {
      resolve({ exitCode: 127, stdout: '', stderr: 'empty command' });
      return;
    }
    execFile(program, args, { timeout: 120_000, windowsHide: true }, (error, stdout, stderr) => {
      if (!error) return resolve({ exitCode: 0, stdout, stderr });
      const failure = error as NodeJS.ErrnoException & { code?: string | number };
      if (failure.code === 'ENOENT') return resolve({ exitCode: 127, stdout, stderr: `${program}: command not found` });
      resolve({ exitCode: typeof failure.code === 'number' ? failure.code : 1, stdout, stderr: stderr || failure.message });
    });
  });
