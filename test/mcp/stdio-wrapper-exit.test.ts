import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDGE_BIN } from '../support/edge-process.js';

/**
 * How `bifrost-edge mcp wrap` ends when its server exits but a process the server started keeps the
 * server's stdout open (a helper left in the background): the wrapper must not wait for that helper, and
 * must not ignore the MCP client's SIGTERM meanwhile.
 */

interface Run {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  /** Resolves once stderr holds `text`. */
  saw(text: string): Promise<void>;
}

function wrap(script: string): Run {
  const started = Date.now();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-exit-'));
  const child = spawn(process.execPath, [EDGE_BIN, 'mcp', 'wrap', '--name', 'helper', '--data-dir', dataDir, '--', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    waiters.splice(0).forEach((w) => w());
  });
  child.stdout.resume();
  return {
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, afterMs: Date.now() - started }))),
    stderr: () => stderr,
    kill: (signal) => child.kill(signal),
    saw: async (text) => {
      while (!stderr.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

/** The exit, or 'still running' once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still running'> {
  return Promise.race([promise, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref())]);
}

/** A server that starts a helper holding its stdout for 30 s, writes its pid to `pidFile`, says so on stderr, and exits 3. */
function orphaningServer(pidFile: string): string {
  return `sleep 30 & echo $! > '${pidFile}'; echo 'server: exiting' >&2; exit 3`;
}

function killHelper(pidFile: string): void {
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

describe('mcp wrap: a server that exits while a helper holds its output', () => {
  it('the wrapper ends with the server\'s exit code shortly after, and says why it stopped relaying', async () => {
    const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-helper-')), 'pid');
    const run = wrap(orphaningServer(pidFile));
    try {
      // Timed from the server's exit, not the wrapper's start (slow on a loaded machine); the helper holds on for 30 s.
      await run.saw('server: exiting');
      const ended = await within(run.exited, 20_000);
      expect(ended).toMatchObject({ code: 3, signal: null });
      expect(run.stderr()).toMatch(/the MCP server exited, but a process it started still holds its output open/);
    } finally {
      killHelper(pidFile);
      run.kill('SIGKILL');
    }
  });

  it('SIGTERM after the server exited ends the wrapper at once (exit 128 + 15)', async () => {
    const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-helper-')), 'pid');
    const run = wrap(orphaningServer(pidFile));
    try {
      await run.saw('server: exiting');
      await new Promise((resolve) => setTimeout(resolve, 200));
      run.kill('SIGTERM');
      const ended = await within(run.exited, 20_000);
      // Ended by the signal (143), not by the wait for the helper's output running out (the server's 3, and a log line).
      expect(ended).toMatchObject({ code: 143, signal: null });
      expect(run.stderr()).not.toMatch(/still holds its output open/);
    } finally {
      killHelper(pidFile);
      run.kill('SIGKILL');
    }
  });
});
