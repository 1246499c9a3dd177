import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/ca/index.js';
import { runCaEnv, runCaInstall, runCaUninstall, type CaCommandDeps } from '../../src/installers/ca-commands.js';
import type { CommandResult } from '../../src/installers/command-runner.js';
import { distInstallers, makeTempDir, removeTempDirs, repoRoot, requireTool } from './support.js';

let dir: string;
let ca: CertificateAuthority;

beforeAll(async () => {
  dir = await makeTempDir('bifrost ca commands-');
  ca = await loadOrCreateCa({ dir: path.join(dir, 'data', 'ca'), log: () => undefined });
});
afterAll(removeTempDirs);

/** Dependencies with a recording command runner and captured output. */
function fakeDeps(overrides: Partial<CaCommandDeps> & { results?: CommandResult[] } = {}) {
  const calls: string[][] = [];
  const out: string[] = [];
  const err: string[] = [];
  const results = [...(overrides.results ?? [])];
  const deps: CaCommandDeps = {
    platform: 'linux',
    osRelease: 'ID=debian\n',
    dataDir: path.join(dir, 'data'),
    homeDir: path.join(dir, 'home'),
    proxyUrl: 'http://127.0.0.1:8790',
    isAdmin: false,
    run: async (argv) => {
      calls.push([...argv]);
      return results.shift() ?? { exitCode: 0, stdout: '', stderr: '' };
    },
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    loadCa: async () => ({ certPath: ca.certPath, certPem: ca.certPem }),
    ...overrides,
  };
  return { deps, calls, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('ca install --system', () => {
  it('--dry-run prints the exact Debian commands and runs nothing', async () => {
    const { deps, calls, stdout } = fakeDeps();
    expect(await runCaInstall(deps, { scope: 'system', dryRun: true })).toBe(0);
    expect(stdout()).toBe(
      `# needs administrator rights\ninstall -D -m 0644 '${ca.certPath}' /usr/local/share/ca-certificates/bifrost-edge.crt\n` +
        '# needs administrator rights\nupdate-ca-certificates\n',
    );
    expect(calls).toEqual([]);
  });

  it('--dry-run prints the RHEL, macOS and Windows commands', async () => {
    const rhel = fakeDeps({ osRelease: 'ID="rocky"\nID_LIKE="rhel centos fedora"\n', isAdmin: true });
    await runCaInstall(rhel.deps, { scope: 'system', dryRun: true });
    expect(rhel.stdout()).toBe(`install -D -m 0644 '${ca.certPath}' /etc/pki/ca-trust/source/anchors/bifrost-edge.pem\nupdate-ca-trust extract\n`);

    const macos = fakeDeps({ platform: 'darwin', isAdmin: true });
    await runCaInstall(macos.deps, { scope: 'system', dryRun: true });
    expect(macos.stdout()).toBe(`security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain '${ca.certPath}'\n`);

    const windows = fakeDeps({ platform: 'win32', isAdmin: false });
    await runCaInstall(windows.deps, { scope: 'user', dryRun: true });
    expect(windows.stdout()).toBe(`& 'certutil' '-user' '-addstore' 'Root' '${ca.certPath}'\n`);
  });

  it('refuses without administrator rights, saying how to get them', async () => {
    const { deps, calls, stderr } = fakeDeps();
    expect(await runCaInstall(deps, { scope: 'system' })).toBe(1);
    expect(stderr()).toMatch(/needs administrator rights: re-run with sudo/);
    expect(calls).toEqual([]);
    const windows = fakeDeps({ platform: 'win32' });
    expect(await runCaInstall(windows.deps, { scope: 'system' })).toBe(1);
    expect(windows.stderr()).toMatch(/Run as administrator/);
  });

  it('runs the commands as root and explains a missing tool', async () => {
    const ok = fakeDeps({ isAdmin: true, dataDir: path.join(dir, 'data') });
    expect(await runCaInstall(ok.deps, { scope: 'system' })).toBe(0);
    expect(ok.calls).toEqual([
      ['install', '-D', '-m', '0644', ca.certPath, '/usr/local/share/ca-certificates/bifrost-edge.crt'],
      ['update-ca-certificates'],
    ]);
    expect(ok.stderr()).toMatch(/bifrost-edge ca install --user/); // browsers still need the user step

    const missing = fakeDeps({ isAdmin: true, results: [{ exitCode: 0, stdout: '', stderr: '' }, { exitCode: 127, stdout: '', stderr: 'not found' }] });
    expect(await runCaInstall(missing.deps, { scope: 'system' })).toBe(1);
    expect(missing.stderr()).toMatch(/update-ca-certificates was not found: install the ca-certificates package/);

    const failing = fakeDeps({ platform: 'darwin', isAdmin: true, results: [{ exitCode: 1, stdout: '', stderr: 'SecTrustSettingsSetTrustSettings: The authorization was denied' }] });
    expect(await runCaInstall(failing.deps, { scope: 'system' })).toBe(1);
    expect(failing.stderr()).toMatch(/failed \(exit code 1\): SecTrustSettingsSetTrustSettings.*MDM profile/);
  });

  it('under sudo, refuses to make a CA that would belong to root', async () => {
    const { deps, stderr } = fakeDeps({ isAdmin: true, sudoUser: 'ada', loadCa: async () => undefined });
    expect(await runCaInstall(deps, { scope: 'system' })).toBe(1);
    expect(stderr()).toMatch(/run `bifrost-edge ca path` as ada \(without sudo\) first/);
  });

  it('names what to do on a Linux it does not know', async () => {
    const { deps, stderr } = fakeDeps({ osRelease: 'ID=arch\n', isAdmin: true });
    expect(await runCaInstall(deps, { scope: 'system' })).toBe(1);
    expect(stderr()).toMatch(/neither Debian- nor RHEL-like.*ca install --user/);
  });

  it('uninstall removes the current and the renewed-away CA on macOS, tolerating "not found"', async () => {
    const dataDir = path.join(dir, 'renewed');
    const current = await loadOrCreateCa({ dir: path.join(dataDir, 'ca'), log: () => undefined });
    await writeFile(`${current.certPath}.old`, ca.certPem);
    const { deps, calls, stderr } = fakeDeps({
      platform: 'darwin',
      isAdmin: true,
      dataDir,
      loadCa: async () => ({ certPath: current.certPath, certPem: current.certPem }),
      results: [{ exitCode: 0, stdout: '', stderr: '' }, { exitCode: 44, stdout: '', stderr: 'The specified item could not be found in the keychain.' }],
    });
    expect(await runCaUninstall(deps, { scope: 'system' })).toBe(0);
    expect(calls.map((argv) => argv.slice(0, 3).join(' '))).toEqual([
      'security remove-trusted-cert -d',
      'security delete-certificate -Z',
      'security remove-trusted-cert -d',
      'security delete-certificate -Z',
    ]);
    expect(calls[2]).toContain(`${current.certPath}.old`);
    expect(stderr()).toMatch(/warning: .*exited with 44.*may not have been installed there/);
  });
});

/** Runs the compiled command functions the way the CLI will: real deps, HOME pointed at a temp dir. */
async function runCompiled(home: string, command: 'install' | 'uninstall' | 'env', flags: string[] = []) {
  const runner = path.join(dir, 'runner.mjs');
  await writeFile(
    runner,
    `const commands = await import(${JSON.stringify(pathToFileURL(path.join(distInstallers, 'ca-commands.js')).href)});
const { defaultDataDir } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist', 'src', 'config', 'data-dir.js')).href)});
const deps = await commands.defaultCaCommandDeps({ dataDir: defaultDataDir(), proxyUrl: 'http://127.0.0.1:8790' });
const [command, ...flags] = process.argv.slice(2);
const scope = flags.includes('--user') ? 'user' : flags.includes('--system') ? 'system' : undefined;
const shell = flags.includes('--shell') ? flags[flags.indexOf('--shell') + 1] : undefined;
process.exitCode = command === 'env' ? await commands.runCaEnv(deps, { shell })
  : await (command === 'install' ? commands.runCaInstall : commands.runCaUninstall)(deps, { scope, dryRun: flags.includes('--dry-run') });
`,
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
  return spawnSync(process.execPath, [runner, command, ...flags], { encoding: 'utf8', env });
}

describe('ca install --user on Linux (real certutil, temp HOME)', () => {
  it('trusts the CA in ~/.pki/nssdb and Firefox profiles, and uninstall removes it', async () => {
    requireTool('certutil', 'libnss3-tools');
    const home = await makeTempDir('bifrost home-');
    const firefox = path.join(home, '.mozilla', 'firefox', 'x1y2z3.default-release');
    const ignored = path.join(home, '.mozilla', 'firefox', 'x1y2z3.work'); // not a default profile
    await mkdir(firefox, { recursive: true });
    await mkdir(ignored, { recursive: true });

    const dryRun = await runCompiled(home, 'install', ['--user', '--dry-run']);
    expect(dryRun.status).toBe(0);
    expect(dryRun.stdout).toMatch(/^# .*ca\.pem does not exist yet/);
    expect(dryRun.stdout).toContain(`\ncertutil -d 'sql:${path.join(home, '.pki', 'nssdb')}' -A -t C,, -n 'Bifrost Edge Local CA' -i '${path.join(home, '.local', 'share', 'bifrost-edge', 'ca', 'ca.pem')}'\n`);

    const install = await runCompiled(home, 'install', ['--user']);
    expect(install.stderr).toContain('Trusted the CA in Firefox profile');
    expect(install.status).toBe(0);
    const caPem = await readFile(path.join(home, '.local', 'share', 'bifrost-edge', 'ca', 'ca.pem'), 'utf8');
    for (const db of [path.join(home, '.pki', 'nssdb'), firefox]) {
      expect(execFileSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' })).toMatch(/Bifrost Edge Local CA\s+C,,/);
      const stored = execFileSync('certutil', ['-d', `sql:${db}`, '-L', '-n', 'Bifrost Edge Local CA', '-a'], { encoding: 'utf8' });
      expect(stored.replace(/\r/g, '').trim()).toBe(caPem.replace(/\r/g, '').trim());
    }
    expect(spawnSync('certutil', ['-d', `sql:${ignored}`, '-L']).status).not.toBe(0); // no database made there

    expect((await runCompiled(home, 'install', ['--user'])).status).toBe(0); // again: replaced, not duplicated
    expect(execFileSync('certutil', ['-d', `sql:${firefox}`, '-L'], { encoding: 'utf8' }).match(/Bifrost Edge Local CA/g)).toHaveLength(1);

    const uninstall = await runCompiled(home, 'uninstall', ['--user']);
    expect(uninstall.status).toBe(0);
    for (const db of [path.join(home, '.pki', 'nssdb'), firefox]) {
      expect(execFileSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' })).not.toContain('Bifrost Edge Local CA');
    }
  });
});

describe('ca env', () => {
  it('prints lines that real bash evaluates into the proxy and CA variables, with a bundle of public roots + our CA', async () => {
    requireTool('bash', 'bash');
    const home = await makeTempDir('bifrost env home with "quotes" and spaces-');
    const runner = path.join(dir, 'runner.mjs');
    await runCompiled(home, 'env'); // writes runner.mjs
    const env = execFileSync('bash', ['-c', `eval "$("$0" "$1" env)"; env`, process.execPath, runner], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: home },
    });
    const variables = Object.fromEntries(env.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const data = path.join(home, '.local', 'share', 'bifrost-edge');
    expect(variables).toMatchObject({
      NODE_EXTRA_CA_CERTS: path.join(data, 'ca', 'ca.pem'),
      REQUESTS_CA_BUNDLE: path.join(data, 'ca-bundle.pem'),
      SSL_CERT_FILE: path.join(data, 'ca-bundle.pem'),
      GIT_SSL_CAINFO: path.join(data, 'ca-bundle.pem'),
      CURL_CA_BUNDLE: path.join(data, 'ca-bundle.pem'),
      HTTPS_PROXY: 'http://127.0.0.1:8790',
      http_proxy: 'http://127.0.0.1:8790',
      NO_PROXY: 'localhost,127.0.0.1,::1',
    });
    const bundle = await readFile(variables.SSL_CERT_FILE!, 'utf8');
    const caPem = (await readFile(variables.NODE_EXTRA_CA_CERTS!, 'utf8')).trim();
    expect(bundle).toContain(caPem);
    expect(bundle.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(100); // the public roots too
    // OpenSSL accepts the bundle as a CA file that vouches for our CA.
    requireTool('openssl', 'openssl');
    expect(execFileSync('openssl', ['verify', '-CAfile', variables.SSL_CERT_FILE!, variables.NODE_EXTRA_CA_CERTS!], { encoding: 'utf8' })).toContain(': OK');
  });

  it('speaks fish and PowerShell too', async () => {
    const fish = fakeDeps({ dataDir: path.join(dir, 'data') });
    expect(await runCaEnv(fish.deps, { shell: 'fish' })).toBe(0);
    expect(fish.stdout()).toContain(`set -gx NODE_EXTRA_CA_CERTS '${ca.certPath}'`);
    const powershell = fakeDeps({ dataDir: path.join(dir, 'data'), platform: 'win32' });
    expect(await runCaEnv(powershell.deps)).toBe(0);
    expect(powershell.stdout()).toContain("$env:HTTPS_PROXY = 'http://127.0.0.1:8790'");
    expect(powershell.stdout()).toMatch(/^# .*Out-String \| Invoke-Expression/);
  });
});
