import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/ca/index.js';
import { installerSettings } from '../../src/installers/installer-settings.js';
import { linuxInstallerFiles, systemdUserUnit } from '../../src/installers/linux.js';
import { makeTempDir, removeTempDirs, requireTool } from './support.js';

const settings = installerSettings({ gateway: { url: 'https://bifrost.example.com' } });
let dir: string;
let ca: CertificateAuthority;

beforeAll(async () => {
  dir = await makeTempDir();
  ca = await loadOrCreateCa({ dir: path.join(dir, 'ca'), log: () => undefined });
});
afterAll(removeTempDirs);

async function executable(file: string, body: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, body);
  await chmod(file, 0o755);
  return file;
}

describe('systemd user unit', () => {
  it('passes systemd-analyze verify --user, with an ExecStart path that needs quoting', async () => {
    requireTool('systemd-analyze', 'systemd');
    // A path with a space and a %: verify fails unless the quoting hands systemd exactly this file.
    const cli = await executable(path.join(dir, 'opt', 'Bifrost Edge 100%', 'bifrost-edge'), '#!/bin/sh\nexit 0\n');
    const unitDir = path.join(dir, 'units');
    await mkdir(unitDir, { recursive: true });
    const unit = path.join(unitDir, 'bifrost-edge.service');
    await writeFile(unit, systemdUserUnit({ cliPath: cli }));
    const runtime = path.join(dir, 'runtime');
    await mkdir(runtime, { recursive: true, mode: 0o700 });
    const result = spawnSync('systemd-analyze', ['verify', '--user', '--man=no', unit], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    // Unknown or misspelled settings are only warnings on stderr, so stderr must be empty too.
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('catches a unit whose ExecStart does not exist (the check above is not vacuous)', async () => {
    requireTool('systemd-analyze', 'systemd');
    const unit = path.join(dir, 'units', 'missing.service');
    await writeFile(unit, systemdUserUnit({ cliPath: path.join(dir, 'does not exist') }));
    const result = spawnSync('systemd-analyze', ['verify', '--user', '--man=no', unit], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: path.join(dir, 'runtime') } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/not executable/);
  });

  it('keeps proxy variables away from Edge and refuses a relative ExecStart', () => {
    expect(systemdUserUnit()).toMatch(/^ExecStart=\/usr\/bin\/bifrost-edge run --config \/etc\/bifrost-edge\/config.json$/m);
    expect(systemdUserUnit()).toMatch(/^UnsetEnvironment=HTTPS_PROXY https_proxy HTTP_PROXY http_proxy/m);
    expect(systemdUserUnit()).not.toMatch(/^MemoryDenyWriteExecute/m);
    expect(() => systemdUserUnit({ cliPath: 'bifrost-edge' })).toThrow(/absolute path/);
  });
});

describe('/etc/profile.d script', () => {
  for (const shell of ['dash', 'bash']) {
    it(`sets the CA and proxy variables in ${shell} only once the user's bundle exists`, async () => {
      requireTool(shell, shell);
      const home = await makeTempDir('bifrost home with space-');
      const script = path.join(dir, `profile-${shell}.sh`);
      await writeFile(script, linuxInstallerFiles(settings)['bifrost-edge.sh']);
      const run = () =>
        execFileSync(shell, ['-c', `set -u; . "$0"; env`, script], { encoding: 'utf8', env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' } });

      expect(run()).not.toMatch(/HTTPS_PROXY|NODE_EXTRA_CA_CERTS/); // nothing yet: tools keep working without Edge

      const data = path.join(home, '.local', 'share', 'bifrost-edge');
      await mkdir(path.join(data, 'ca'), { recursive: true });
      await writeFile(path.join(data, 'ca', 'ca.pem'), ca.certPem);
      await writeFile(path.join(data, 'ca-bundle.pem'), ca.certPem);
      const variables = Object.fromEntries(run().trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      expect(variables).toMatchObject({
        NODE_EXTRA_CA_CERTS: path.join(data, 'ca', 'ca.pem'),
        SSL_CERT_FILE: path.join(data, 'ca-bundle.pem'),
        REQUESTS_CA_BUNDLE: path.join(data, 'ca-bundle.pem'),
        HTTPS_PROXY: 'http://127.0.0.1:8790',
        no_proxy: 'localhost,127.0.0.1,::1',
      });
      expect(variables).not.toHaveProperty('bifrost_edge_data'); // no helper variable left behind
    });
  }
});

describe('install.sh and uninstall.sh', () => {
  it('are valid bash', async () => {
    const files = linuxInstallerFiles(settings);
    for (const name of ['install.sh', 'uninstall.sh'] as const) {
      const file = path.join(dir, name);
      await writeFile(file, files[name]);
      execFileSync('bash', ['-n', file]);
    }
  });

  it('install.sh trusts the user\'s CA in the OS store and in real NSS databases (system tools stubbed)', async () => {
    requireTool('certutil', 'libnss3-tools');
    const root = await makeTempDir('bifrost linux install-');
    const home = path.join(root, 'home', 'ada lovelace');
    const firefoxProfile = path.join(home, '.mozilla', 'firefox', 'abcd1234.default-release');
    await mkdir(firefoxProfile, { recursive: true });
    const caPath = path.join(root, 'ca dir', 'ca.pem');
    await mkdir(path.dirname(caPath), { recursive: true });
    await writeFile(caPath, ca.certPem);

    // Stubs record what would change the machine; certutil is the real one, run by a runuser stub.
    const bin = path.join(root, 'bin');
    const log = path.join(root, 'calls.log');
    const record = (name: string) => executable(path.join(bin, name), `#!/bin/sh\nprintf '%s' ${name} >> "$CALLS"; for a in "$@"; do printf ' [%s]' "$a" >> "$CALLS"; done; echo >> "$CALLS"\n`);
    await Promise.all(['install', 'systemctl', 'update-ca-certificates', 'rm', 'rmdir'].map(record));
    await executable(path.join(bin, 'id'), '#!/bin/sh\necho 0\n');
    await executable(path.join(bin, 'getent'), `#!/bin/sh\necho "ada:x:1000:1000::$FAKE_HOME:/bin/bash"\n`);
    await executable(path.join(bin, 'runuser'), `#!/bin/sh\n[ "$1" = -u ] && [ "$3" = -- ] || exit 64\nprintf runuser >> "$CALLS"; for a in "$@"; do printf ' [%s]' "$a" >> "$CALLS"; done; echo >> "$CALLS"\nshift 3\nexec "$@"\n`);
    const cli = await executable(path.join(root, 'edge cli', 'bifrost-edge'), `#!/bin/sh\nprintf '%s' "edge $*" >> "$CALLS"; echo >> "$CALLS"\n[ "$2" = path ] && echo "$FAKE_CA"\nexit 0\n`);

    const files = linuxInstallerFiles(settings, { cliPath: cli });
    const installer = path.join(root, 'generated', 'install.sh');
    await mkdir(path.dirname(installer), { recursive: true });
    for (const [name, contents] of Object.entries(files)) await writeFile(path.join(root, 'generated', name), contents);

    // mktemp's copies land in the test's folder (the rm stub leaves them).
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, CALLS: log, FAKE_HOME: home, FAKE_CA: caPath, TMPDIR: root };
    const result = spawnSync('bash', [installer, 'ada'], { encoding: 'utf8', env });
    expect(result.stderr).toContain('done for ada');
    expect(result.status).toBe(0);

    const calls = await readFile(log, 'utf8');
    expect(calls).toContain(`install [-D] [-m] [0644] [${path.join(root, 'generated', 'config.json')}] [/etc/bifrost-edge/config.json]`);
    expect(calls).toContain('systemctl [--global] [enable] [bifrost-edge.service]');
    // Root installs a copy the user read (a root-owned temp file), never the path the user controls.
    expect(calls).toContain(`runuser [-u] [ada] [--] [cat] [--] [${caPath}]`);
    expect(calls).toContain(`install [-D] [-m] [0644] [${root}/tmp.`);
    expect(calls).toMatch(/\/tmp\.\w+\] \[\/usr\/local\/share\/ca-certificates\/bifrost-edge\.crt\]/);
    expect(calls).not.toContain(`[${caPath}] [/usr/local/share/ca-certificates/bifrost-edge.crt]`);
    expect(calls).toContain('update-ca-certificates');
    expect(calls).toContain('edge ca env');
    for (const db of [path.join(home, '.pki', 'nssdb'), firefoxProfile]) {
      const listing = execFileSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' });
      expect(listing).toMatch(/Bifrost Edge Local CA\s+C,,/);
    }

    // A ca.pem that is not one certificate (a symlink to a secret, say) is not installed anywhere.
    const secret = path.join(root, 'shadow');
    await writeFile(secret, 'root:$6$SECRET-HASH:19000:0:99999:7:::\n');
    const linked = path.join(root, 'linked', 'ca.pem');
    await mkdir(path.dirname(linked), { recursive: true });
    await symlink(secret, linked);
    await writeFile(log, '');
    const refused = spawnSync('bash', [installer, 'ada'], { encoding: 'utf8', env: { ...env, FAKE_CA: linked } });
    expect(refused.stderr).toContain(`${linked} is not a single CA certificate: skipped ada`);
    expect(await readFile(log, 'utf8')).not.toContain('/usr/local/share/ca-certificates/bifrost-edge.crt');

    // Running it again replaces rather than duplicates; uninstall.sh removes the NSS entries.
    expect(spawnSync('bash', [installer, 'ada'], { encoding: 'utf8', env }).status).toBe(0);
    const uninstall = spawnSync('bash', [path.join(root, 'generated', 'uninstall.sh'), 'ada'], { encoding: 'utf8', env });
    expect(uninstall.status).toBe(0);
    for (const db of [path.join(home, '.pki', 'nssdb'), firefoxProfile]) {
      expect(execFileSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' })).not.toContain('Bifrost Edge Local CA');
    }
    const removals = await readFile(log, 'utf8');
    expect(removals).toContain('rm [-f] [/etc/systemd/user/bifrost-edge.service] [/etc/profile.d/bifrost-edge.sh] [/etc/bifrost-edge/config.json]');
    expect(removals).toContain('rm [-f] [/usr/local/share/ca-certificates/bifrost-edge.crt]');
    expect(removals).toContain('update-ca-certificates [--fresh]');
  });
});
