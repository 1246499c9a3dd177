import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaUninstall, type CaCommandDeps } from '../../src/installers/ca-commands.js';
import { EDGE_BIN } from '../support/edge-process.js';
import { makeTempDir, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

/** The real CLI, with HOME pointed at a temp dir (so no browser NSS database of the developer's is touched). */
function edge(home: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BIFROST_EDGE_')));
  const result = spawnSync(process.execPath, [EDGE_BIN, ...args], { env: { ...env, HOME: home }, encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `ca uninstall --user` on Linux removes the CA from browser NSS databases only. With none there, it said
 * "No Bifrost Edge CA in <data dir>: nothing to remove" while the CA was right there
 * (/tmp/review-ux2/minor-messages.sh (4)).
 */
describe('ca uninstall with nothing to remove says why', () => {
  it.runIf(process.platform === 'linux')('--user on Linux with no browser NSS database: says that, not that the CA is missing', async () => {
    const home = await makeTempDir('bifrost-ca-uninstall-home-');
    const dataDir = path.join(home, 'edge-data');
    const certPath = edge(home, ['ca', 'path', '--data-dir', dataDir]).stdout.trim();
    expect(fs.existsSync(certPath)).toBe(true);

    for (const flags of [['--dry-run'], []]) {
      const { code, stdout, stderr } = edge(home, ['ca', 'uninstall', '--user', ...flags, '--data-dir', dataDir]);
      expect(code).toBe(0);
      expect(stdout).toBe('');
      expect(stderr).not.toContain('No Bifrost Edge CA');
      expect(stderr).toContain(`No browser NSS database with certificates under ${home}`);
      expect(stderr).toContain(path.join(home, '.pki/nssdb'));
      expect(stderr).toContain('bifrost-edge ca uninstall --system');
    }
  });

  it('with no CA in the data dir (macOS): says the CA is not there', async () => {
    const dataDir = await makeTempDir('bifrost-ca-uninstall-data-');
    const err: string[] = [];
    const deps: CaCommandDeps = {
      platform: 'darwin', osRelease: '', dataDir, homeDir: dataDir, proxyUrl: 'http://127.0.0.1:8790', isAdmin: false,
      run: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
      stdout: () => undefined,
      stderr: (text) => err.push(text),
      loadCa: async () => undefined,
    };
    expect(await runCaUninstall(deps, { scope: 'user' })).toBe(0);
    expect(err.join('')).toBe(`No Bifrost Edge CA in ${dataDir}: nothing to remove.\n`);
  });
});
