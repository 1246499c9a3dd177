import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found by walking up to package.json (works from test/ and from dist/test/). */
function findRepoRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
export const EDGE_BIN = path.join(repoRoot, 'bin', 'bifrost-edge.js');

export interface EdgeProcess {
  proxyUrl: string;
  caPath: string;
  caPem: string;
  dataDir: string;
  child: ChildProcess;
  stdoutLines: string[];
  stderr: () => string;
  /** Sends SIGTERM and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartEdgeOptions {
  config?: Record<string, unknown>;
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Options for node itself (V8 flags), before the script. */
  nodeArgs?: string[];
}

/**
 * Starts the real `bifrost-edge run` CLI as a child process on a free port and waits for its
 * ready line, so end-to-end tests exercise exactly what a user runs.
 */
export async function startEdgeProcess(options: StartEdgeOptions = {}): Promise<EdgeProcess> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edge-data-'));
  const configFile = path.join(dataDir, 'edge-config.json');
  // Tests run agents side by side: metrics on a free port unless the test says otherwise.
  fs.writeFileSync(configFile, JSON.stringify({ metrics: { port: 0 }, ...options.config }));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), EDGE_BIN, 'run', '--config', configFile, '--data-dir', dataDir, '--port', '0', ...(options.args ?? [])], {
    env: { ...process.env, BIFROST_EDGE_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = await new Promise<{ proxy: string; ca: string }>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`edge did not become ready in time; stderr:\n${stderr}`)), options.timeoutMs ?? 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        stdoutLines.push(line);
        try {
          const parsed = JSON.parse(line) as { event?: string; proxy: string; ca: string };
          if (parsed.event === 'ready') {
            clearTimeout(timer);
            resolve(parsed);
          }
        } catch {
          // A non-JSON stdout line is a contract violation; the tests check stdoutLines.
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited with ${code} before ready; stderr:\n${stderr}`));
    });
  });

  return {
    proxyUrl: ready.proxy,
    caPath: ready.ca,
    caPem: fs.readFileSync(ready.ca, 'utf8'),
    dataDir,
    child,
    stdoutLines,
    stderr: () => stderr,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
