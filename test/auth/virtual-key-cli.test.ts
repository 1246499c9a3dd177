import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADA_KEY, startControlFixture, type ControlFixture } from '../control/support/control-fixture.js';
import { EDGE_BIN } from '../support/edge-process.js';

/**
 * The real `bifrost-edge login --virtual-key` / `whoami` / `logout`, run as a person would, with the
 * key piped on stdin, against a real Edge Control server that does or does not allow it.
 */

interface CliRun { code: number | null; stdout: string; stderr: string }

/** `keepOpen`: write stdin but never close it, as a writer that has more to say would. */
function runCli(args: string[], stdin = '', options: { keepOpen?: boolean } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [EDGE_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  // The command may have exited (refused) before reading anything.
  child.stdin.on('error', () => undefined);
  if (options.keepOpen) child.stdin.write(stdin);
  else child.stdin.end(stdin);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Every file under `dir` whose bytes contain `secret`. */
function filesContaining(dir: string, secret: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && fs.readFileSync(path.join(e.parentPath, e.name)).includes(secret))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

function virtualKeyFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'auth');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('virtual-key.')) : [];
}

const dirs: string[] = [];
/** A data dir with a config file pointing at `controlUrl` (or at no Edge Control). */
function device(controlUrl: string | undefined): { dataDir: string; args: string[] } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-vk-cli-'));
  dirs.push(dataDir);
  const config = path.join(dataDir, 'edge-config.json');
  fs.writeFileSync(config, JSON.stringify(controlUrl ? { control: { url: controlUrl } } : {}));
  return { dataDir, args: ['--config', config, '--data-dir', dataDir] };
}

let allowing: ControlFixture;
let refusing: ControlFixture;

beforeAll(async () => {
  [allowing, refusing] = await Promise.all([
    startControlFixture({ config: { allow_virtual_key_enrollment: true } }),
    startControlFixture({ config: { allow_virtual_key_enrollment: false, oidc: { issuers: [{ issuer: 'http://127.0.0.1:9/idp', audience: 'bifrost-edge' }] } } }),
  ]);
});

afterAll(async () => {
  await allowing?.close();
  await refusing?.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bifrost-edge login --virtual-key', () => {
  it('signs in with the piped key, keeps it only encrypted, shows it masked, and logout removes it', async () => {
    const { dataDir, args } = device(allowing.server.url);
    const login = await runCli(['login', '--virtual-key', ...args], `${ADA_KEY.value}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Signed in to Bifrost Edge with a virtual key sk-bf-…0001.');
    expect(login.stdout).toContain(`edge control: ${allowing.server.url}`);
    // Piped input gets no prompt; the key is never printed, and no file holds it in plain text.
    expect(login.stderr).not.toMatch(/Paste the virtual key/);
    expect(login.stdout + login.stderr).not.toContain(ADA_KEY.value);
    expect(virtualKeyFiles(dataDir).length).toBeGreaterThan(0);
    expect(filesContaining(dataDir, ADA_KEY.value!)).toEqual([]);

    const whoami = await runCli(['whoami', ...args]);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout.split('\n')[0]).toBe('Signed in to Bifrost Edge with a virtual key sk-bf-…0001.');
    const json = await runCli(['whoami', '--json', ...args]);
    expect(JSON.parse(json.stdout)).toMatchObject({ signedIn: true, method: 'virtual_key', virtualKey: 'sk-bf-…0001', controlUrl: allowing.server.url });
    expect(whoami.stdout + whoami.stderr + json.stdout + json.stderr).not.toContain(ADA_KEY.value);

    const logout = await runCli(['logout', ...args]);
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toContain('Signed out of Bifrost Edge: the virtual key sk-bf-…0001 was deleted from this device.');
    expect(virtualKeyFiles(dataDir)).toEqual([]);
    const after = await runCli(['whoami', ...args]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/^Not signed in to Bifrost Edge/);
  });

  it('reads only the first line: a writer that keeps the pipe open does not hold the command', async () => {
    const { args } = device(allowing.server.url);
    const login = await runCli(['login', '--virtual-key', ...args], `${ADA_KEY.value}\nmore text that is not the key`, { keepOpen: true });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('sk-bf-…0001');
  });

  it('is refused, with what to do instead, when Edge Control does not allow it', async () => {
    const { dataDir, args } = device(refusing.server.url);
    const login = await runCli(['login', '--virtual-key', ...args], `${ADA_KEY.value}\n`);
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(`Edge Control at ${refusing.server.url} does not allow signing in with a virtual key. Sign in with your company account instead: \`bifrost-edge login\`. If you have no company account, ask your admin to allow virtual-key sign-in.`);
    expect(virtualKeyFiles(dataDir)).toEqual([]);
    expect(filesContaining(dataDir, ADA_KEY.value!)).toEqual([]);
  });

  it('refuses a malformed key without repeating it, and saves nothing', async () => {
    const { dataDir, args } = device(allowing.server.url);
    const pasted = 'sk-proj-0123456789abcdefghij';
    const login = await runCli(['login', '--virtual-key', ...args], `${pasted}\n`);
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/That is not a Bifrost virtual key: virtual keys start with "sk-bf-"\..* Nothing was saved\./);
    expect(login.stdout + login.stderr).not.toContain(pasted);
    expect(virtualKeyFiles(dataDir)).toEqual([]);
  });

  it('needs Edge Control to be configured', async () => {
    const { args } = device(undefined);
    const login = await runCli(['login', '--virtual-key', ...args], `${ADA_KEY.value}\n`);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/Signing in with a virtual key needs Edge Control, and this device has none configured \(control\.url/);
  });

  it('never takes the key from the command line, and does not echo one given there', async () => {
    const { dataDir, args } = device(allowing.server.url);
    const login = await runCli(['login', '--virtual-key', ADA_KEY.value!, ...args]);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/a virtual key is never taken from the command line/);
    expect(login.stdout + login.stderr).not.toContain(ADA_KEY.value);
    expect(virtualKeyFiles(dataDir)).toEqual([]);
  });
});
