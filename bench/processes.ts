import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

export interface Started<T> {
  child: ChildProcess;
  info: T;
  stop(): Promise<void>;
}

/**
 * Spawns a process and resolves with the first stdout line that parses as JSON. Lines before it, and
 * every line after it, go to `onOtherLine` when given (V8's --trace-gc-nvp writes to stdout).
 */
export function startJsonLineProcess<T>(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onOtherLine?: (line: string) => void } = {}): Promise<Started<T>> {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  return new Promise((resolve, reject) => {
    let buffer = '';
    let info: T | undefined;
    const timer = setTimeout(() => reject(new Error(`${command} did not start; stderr:\n${stderr}`)), options.timeoutMs ?? 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (info === undefined && line.startsWith('{')) {
          info = JSON.parse(line) as T;
          clearTimeout(timer);
          resolve({ child, info, stop: () => stopProcess(child) });
        } else {
          options.onOtherLine?.(line);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}; stderr:\n${stderr}`));
    });
  });
}

/**
 * Extra node options for the agent from BENCH_EDGE_NODE_ARGS, e.g. "--trace-gc-nvp" or
 * "--cpu-prof --cpu-prof-dir=/tmp/prof": what the agent does under this load, seen from inside.
 */
export function profilingArgs(value: string | undefined): string[] {
  const args = (value ?? '').split(/\s+/).filter((a) => a !== '');
  const notOption = args.find((a) => !a.startsWith('--'));
  if (notOption !== undefined) throw new Error(`BENCH_EDGE_NODE_ARGS takes node options only (each starting with --); got "${notOption}"`);
  return args;
}

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resident set size of a process in MiB, from /proc (Linux). */
/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux). Ticks are 10 ms, so
 * callers measure spans of seconds. CPU per request is what a busy machine can count on; wall-clock
 * latency under load depends on how many cores the client, the proxy and the server share.
 */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The machine's CPU time so far (all cores), from /proc/stat: busy and total, in clock ticks. */
export function machineCpuTicks(): { busy: number; total: number } {
  try {
    // "cpu  user nice system idle iowait irq softirq steal ..." (the first line sums every core).
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, ticks) => sum + ticks, 0);
    const idle = fields[3]! + fields[4]!;
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** How many of the machine's cores were busy, on average, between two machineCpuTicks() readings. */
export function coresBusy(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  return ((after.busy - before.busy) / (after.total - before.total)) * os.cpus().length;
}

export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
