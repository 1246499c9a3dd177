import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface RunningChild {
  child: ChildProcess;
  /** Complete stdout lines received so far (a line cut by SIGKILL is not included). */
  lines: string[];
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Runs a fixture script with the real `node`, collecting its stdout line by line. */
export function runFixture(script: string, args: string[]): RunningChild {
  const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('close', (code, signal) => resolve(signal ?? code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine(predicate, timeoutMs = 15_000) {
      const existing = lines.find(predicate);
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fixture ${script} printed no matching line in ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        waiters.push({ predicate, resolve: (line) => { clearTimeout(timer); resolve(line); } });
        void exited.then((how) => { clearTimeout(timer); reject(new Error(`fixture ${script} exited (${String(how)}) before printing the expected line; stderr:\n${stderr}`)); });
      });
    },
  };
}

/** SIGKILL — no cleanup, no flush, no exit handlers: the harshest crash a process can suffer. */
export async function sigkill(running: RunningChild): Promise<void> {
  process.kill(running.child.pid!, 'SIGKILL');
  await running.exited;
}

export function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min));
}
