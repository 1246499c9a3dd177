import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macosPostinstallScript } from '../../src/installers/macos-postinstall.js';
import { makeTempDir, removeTempDirs, requireTool } from './support.js';

let root: string;
let script: string;
let calls: string;

async function executable(file: string, body: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, body);
  await chmod(file, 0o755);
}

beforeAll(async () => {
  requireTool('bash', 'bash');
  root = await makeTempDir('bifrost macos postinstall-');
  calls = path.join(root, 'calls.log');
  const bin = path.join(root, 'bin');
  const ca = path.join(root, 'Application Support', 'ca.pem');
  await mkdir(path.dirname(ca), { recursive: true });
  await writeFile(ca, 'pem');
  // macOS tools, stubbed: the console user, sudo to them, and `security` recording its arguments.
  await executable(path.join(bin, 'stat'), '#!/bin/sh\necho "$CONSOLE_USER"\n');
  await executable(path.join(bin, 'sudo'), '#!/bin/sh\n[ "$1" = -u ] && [ "$3" = -H ] || exit 64\necho "sudo as $2" >> "$CALLS"\nshift 3\nexec "$@"\n');
  await executable(path.join(bin, 'security'), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a" >> "$CALLS"; done; echo >> "$CALLS"\nexit "${SECURITY_EXIT:-0}"\n');
  const cli = path.join(root, 'Bifrost Edge.app', 'bifrost-edge');
  await executable(cli, `#!/bin/sh\n[ "$1 $2" = "ca path" ] && echo ${JSON.stringify(ca)}\n`);
  script = path.join(root, 'postinstall');
  await writeFile(script, macosPostinstallScript({ cliPath: cli }));
});
afterAll(removeTempDirs);

function run(env: Record<string, string>) {
  return spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: `${path.join(root, 'bin')}:/usr/bin:/bin`, CALLS: calls, ...env } });
}

describe('macOS postinstall', () => {
  it('makes the CA as the console user and trusts it in the System keychain', async () => {
    const result = run({ CONSOLE_USER: 'ada' });
    expect(result.status).toBe(0);
    const log = await readFile(calls, 'utf8');
    expect(log).toContain('sudo as ada');
    expect(log).toContain(`[add-trusted-cert][-d][-r][trustRoot][-k][/Library/Keychains/System.keychain][${path.join(root, 'Application Support', 'ca.pem')}]`);
    expect(result.stderr).toContain('trusted');
  });

  it('leaves the install in place and says how to finish when macOS refuses the trust change', () => {
    const result = run({ CONSOLE_USER: 'ada', SECURITY_EXIT: '1' });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/could not trust .*\n.*installers mobileconfig --with-ca/);
  });

  it('does nothing when nobody is signed in', () => {
    const result = run({ CONSOLE_USER: 'root' });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('nobody is signed in');
  });
});
