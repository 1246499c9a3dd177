import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EDGE_BIN } from '../../support/edge-process.js';

export interface CliLoginResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The sign-in URL the CLI handed to the "system browser". */
  openedUrl: string;
}

/**
 * Runs the real `bifrost-edge login --config F --data-dir D` as a child process. The CLI opens the
 * system browser with `xdg-open`; a stub of that name, first on PATH, only records the URL, and
 * `openBrowser` (e.g. a headless-Chromium employee) then acts on it as the person's browser would.
 */
export async function runCliLogin(options: {
  configFile: string;
  dataDir: string;
  openBrowser: (url: string) => Promise<void>;
  timeoutMs?: number;
}): Promise<CliLoginResult> {
  const stubDir = fs.mkdtempSync(path.join(options.dataDir, '..', `${path.basename(options.dataDir)}-opener-`));
  const urlFile = path.join(stubDir, 'opened-url');
  const stub = path.join(stubDir, 'xdg-open');
  fs.writeFileSync(stub, `#!/bin/sh\nprintf '%s\\n' "$1" > "${urlFile}.tmp" && mv "${urlFile}.tmp" "${urlFile}"\n`, { mode: 0o755 });

  const child = spawn(process.execPath, [EDGE_BIN, 'login', '--config', options.configFile, '--data-dir', options.dataDir], {
    env: { ...process.env, PATH: `${stubDir}${path.delimiter}${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);

  try {
    const openedUrl = await new Promise<string>((resolve, reject) => {
      let done = false;
      const poll = setInterval(() => {
        if (done) return;
        if (fs.existsSync(urlFile)) {
          done = true;
          clearInterval(poll);
          resolve(fs.readFileSync(urlFile, 'utf8').trim());
        }
      }, 25);
      void exited.then((code) => {
        if (done) return;
        done = true;
        clearInterval(poll);
        reject(new Error(`bifrost-edge login exited with ${code} before opening the browser; stderr:\n${stderr}`));
      });
    });
    await options.openBrowser(openedUrl);
    const code = await exited;
    return { code, stdout, stderr, openedUrl };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(stubDir, { recursive: true, force: true });
  }
}
