import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { ADMIN_TOKEN, ADA_KEY, GATEWAY_ADMIN, tempDir } from './support/control-fixture.js';

/** The compiled entry (the global test setup builds dist/ first). */
const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/control/server/serve-cli-entry.js');

let standin: BifrostStandin;
let dir: string;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [ADA_KEY], adminAuth: GATEWAY_ADMIN });
  dir = await tempDir('serve');
});

afterAll(async () => {
  await standin?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

function serve(args: string[], untilReady: (url: string) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let readySeen = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not finish in time; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!readySeen && stdout.includes('\n')) {
        readySeen = true;
        const { url } = JSON.parse(stdout.split('\n')[0]!) as { url: string };
        untilReady(url).then(() => child.kill('SIGTERM'), (err: unknown) => {
          child.kill('SIGKILL');
          reject(err as Error);
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

describe('bifrost-edge control serve', () => {
  it('prints exactly one ready line, serves, and exits 0 on SIGTERM', async () => {
    const configFile = path.join(dir, 'control.json');
    await fs.writeFile(configFile, JSON.stringify({
      listen: { port: 0 },
      admin_token: ADMIN_TOKEN,
      gateway: { url: standin.url, admin_auth: { type: 'basic', ...GATEWAY_ADMIN } },
      signing_key_file: 'state/signing-key.pem',
      storage: { sqlite_path: 'state/control.db' },
    }));
    let health: unknown;
    const run = await serve(['--config', configFile], async (url) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      health = await (await fetch(`${url}/api/edge/v1/health`)).json();
      const policy = await fetch(`${url}/api/edge/v1/admin/policy`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(policy.status).toBe(200);
    });
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ event: 'ready', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(health).toMatchObject({ status: 'ok', gateway: 'ok', policy_revision: 1 });
    // Relative paths resolve against the config file's folder; the new key lives in an owner-only
    // key ring, and only there (a new server writes no separate key file).
    const ring = await fs.stat(path.join(dir, 'state', 'signing-key.keyring.json'));
    expect(ring.mode & 0o777).toBe(0o600);
    await expect(fs.stat(path.join(dir, 'state', 'signing-key.pem'))).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.stat(path.join(dir, 'state', 'control.db'));
    expect(run.stderr).toMatch(/SIGTERM/);
  });

  it('explains a bad config and exits 2', async () => {
    const configFile = path.join(dir, 'bad.json');
    await fs.writeFile(configFile, JSON.stringify({ admin_token: 'short', listen: { host: '0.0.0.0' }, gateway: { url: 'nope' } }));
    const run = await serve(['--config', configFile], async () => undefined);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/admin_token: must be at least 16 characters/);
    expect(run.stderr).toMatch(/listen\.host: must be a loopback address/);
    expect(run.stderr).toMatch(/signing_key_file/);
    const missing = await serve([], async () => undefined);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--config is required/);
  });
});
