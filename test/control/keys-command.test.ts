import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminSigningKeysResponse } from '../../src/control/protocol/admin-signing-keys.js';
import { startControlFixture, type ControlFixture } from './support/control-fixture.js';

/** The compiled entry (the global test setup builds dist/ first). */
const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/control/server/keys-cli-entry.js');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keys(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ENTRY, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The fixture's server config as a file, the way an operator runs the command. */
async function withConfigFile(): Promise<{ fixture: ControlFixture; configFile: string }> {
  const fixture = await startControlFixture();
  cleanups.push(() => fixture.close());
  const configFile = path.join(fixture.dir, 'control.json');
  await fs.writeFile(configFile, JSON.stringify(fixture.config));
  return { fixture, configFile };
}

describe('bifrost-edge control keys', () => {
  it('rotates, promotes and retires through the running server\'s admin API', async () => {
    const { fixture, configFile } = await withConfigFile();
    const server = ['--config', configFile, '--url', fixture.server.url];
    const oldKey = fixture.server.signingKey.key_id;

    const rotated = await keys(['rotate', ...server]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/Announced the next key/);
    expect(rotated.stdout).toMatch(new RegExp(`^active +${oldKey} `, 'm'));
    expect(rotated.stdout).toMatch(/^next +ed25519:[0-9a-f]{32} /m);
    expect(rotated.stdout).toMatch(/Devices up to date: 0 of 0 \(0 got a new bundle now\)/);

    const listed = await keys(['list', ...server, '--json']);
    const ring = JSON.parse(listed.stdout) as AdminSigningKeysResponse;
    const newKey = ring.keys.find((k) => k.status === 'next')!.key_id;
    expect(ring.keys.every((k) => !('private_key_pem' in k))).toBe(true);

    expect((await keys(['promote', ...server])).code).toBe(0);
    expect(fixture.server.signingKey.key_id).toBe(newKey);
    const retired = await keys(['retire', ...server, '--key-id', oldKey]);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).toMatch(new RegExp(`^retired +${oldKey} `, 'm'));

    // A step that makes no sense is refused with the server's reason and exit code 1.
    const again = await keys(['promote', ...server]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no next key is announced; run keys rotate first.*\(signing_key_conflict\)/);
  });

  it('edits the key ring file with --offline while the server is stopped; the server uses it at start', async () => {
    const { fixture, configFile } = await withConfigFile();
    const url = fixture.server.url;
    const activeBefore = fixture.server.signingKey.key_id;
    await fixture.server.close();

    const unreachable = await keys(['rotate', '--config', configFile, '--url', url]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/no Edge Control server answers at .*use --offline to edit the key ring file/);

    const rotated = await keys(['rotate', '--config', configFile, '--offline']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/Edited .*signing-key\.keyring\.json directly; the server uses it when it starts/);
    expect((await keys(['promote', '--config', configFile, '--offline'])).code).toBe(0);

    const restarted = await fixture.restart();
    expect(restarted.signingKey.key_id).not.toBe(activeBefore);
    const ring = (await fixture.admin('GET', '/api/edge/v1/admin/signing-keys')).json as AdminSigningKeysResponse;
    expect(ring.keys.map((k) => k.status)).toEqual(['active', 'previous']);
    expect(ring.keys[1]?.key_id).toBe(activeBefore);
  });

  it('explains bad usage with exit code 2', async () => {
    const { configFile } = await withConfigFile();
    const cases: Array<[string[], RegExp]> = [
      [['list'], /--config is required/],
      [['spin', '--config', configFile], /unknown action "spin"/],
      [['rotate', '--config', configFile, '--key-id', 'x'], /--key-id only goes with retire/],
      [['list', '--config', configFile], /listen\.port 0 .*pass it with --url/],
      [['list', '--config', path.join(path.dirname(configFile), 'missing.json')], /cannot read control server config/],
    ];
    const runs = await Promise.all(cases.map(([args]) => keys(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const run = runs[i]!;
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });
});
