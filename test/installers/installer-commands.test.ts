import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInstallersCommand } from '../../src/installers/installer-commands.js';
import { makeTempDir, removeTempDirs, repoRoot } from './support.js';

afterAll(removeTempDirs);

const examples = path.join(repoRoot, 'installers', 'examples');
/** The command that made installers/examples (also in installers/README.md). */
const EXAMPLE_ARGS = ['all', '--config', path.join(examples, 'edge-config.json'), '--organization', 'Example Corp', '--identifier', 'com.example.bifrost-edge'];

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) }, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
}

describe('bifrost-edge installers', () => {
  it('regenerates installers/examples byte for byte (run with UPDATE_INSTALLER_EXAMPLES=1 to refresh them)', async () => {
    const update = process.env.UPDATE_INSTALLER_EXAMPLES === '1';
    const out = update ? examples : await makeTempDir();
    const { io, stderr } = captureIo();
    expect(await runInstallersCommand([...EXAMPLE_ARGS, '--out', out], io), stderr()).toBe(0);
    const generated = (await listFiles(out)).filter((file) => file !== 'edge-config.json');
    expect(generated).toEqual([
      'linux/bifrost-edge.service',
      'linux/bifrost-edge.sh',
      'linux/config.json',
      'linux/install.sh',
      'linux/uninstall.sh',
      'macos/bifrost-edge.mobileconfig',
      'macos/postinstall',
      'windows/install.ps1',
      'windows/trust-device-ca.ps1',
      'windows/uninstall.ps1',
    ]);
    for (const file of generated) {
      const committed = await readFile(path.join(examples, file), 'utf8').catch(() => '(missing)');
      expect(committed, `installers/examples/${file} differs from what the generator writes: run UPDATE_INSTALLER_EXAMPLES=1 npx vitest run test/installers/installer-commands.test.ts`).toBe(await readFile(path.join(out, file), 'utf8'));
    }
    expect((await stat(path.join(out, 'linux', 'install.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(out, 'macos', 'postinstall'))).mode & 0o777).toBe(0o755);
  });

  it('writes the per-device CA profile with --with-ca', async () => {
    const out = await makeTempDir();
    const { io } = captureIo();
    const { loadOrCreateCa } = await import('../../src/ca/index.js');
    const ca = await loadOrCreateCa({ dir: path.join(out, 'ca'), log: () => undefined });
    expect(await runInstallersCommand(['mobileconfig', '--with-ca', ca.certPath, '--out', out], io)).toBe(0);
    expect(await readFile(path.join(out, 'macos', 'bifrost-edge-ca.mobileconfig'), 'utf8')).toContain('<string>com.apple.security.root</string>');
  });

  it('explains usage and configuration mistakes with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /name a platform/],
      [['android'], /unknown platform "android"/],
      [['linux', '--with-ca', 'ca.pem'], /--with-ca only applies to mobileconfig/],
      [['linux', '--bogus'], /Unknown option '--bogus'/],
      [['linux', '--config', path.join(repoRoot, 'no-such-config.json')], /cannot read .*check the path given to --config/],
    ];
    for (const [args, message] of cases) {
      const { io, stderr } = captureIo();
      expect(await runInstallersCommand(args, io)).toBe(2);
      expect(stderr()).toMatch(message);
    }
  });
});
