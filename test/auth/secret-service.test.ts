import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authDirectory, createTokenStore } from '../../src/auth/create-token-store.js';
import { SecretServiceKeySource } from '../../src/auth/encryption-keys.js';
import { runCommand } from '../../src/auth/run-command.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';

function installed(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

/**
 * The Linux keychain path against a real Secret Service: a private D-Bus session bus with its own
 * gnome-keyring, so the developer's real keyring is never touched. scripts/ensure-deps.sh installs
 * dbus-daemon, gnome-keyring and secret-tool; without them this fails and says so.
 */
const tools = ['dbus-daemon', 'gnome-keyring-daemon', 'secret-tool'];

describe('Secret Service key source (real gnome-keyring on a private bus)', () => {
  const missing = tools.filter((t) => !installed(t));
  it('has the tools it needs', () => {
    expect(missing, 'install them with: bash scripts/ensure-deps.sh test').toEqual([]);
  });

  const children: ChildProcess[] = [];
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-keyring-home-'));

  beforeAll(async () => {
    // A session bus without service activation: with the stock config, a lookup that arrives before our
    // keyring daemon has claimed its name makes D-Bus start another gnome-keyring, one without the unlock
    // password and so without a login collection (stores then fail for good).
    const busConfig = path.join(home, 'session-bus.conf');
    fs.writeFileSync(busConfig, [
      '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
      '<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>',
      '<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>',
      '</busconfig>',
    ].join('\n'));
    const bus = spawn('dbus-daemon', [`--config-file=${busConfig}`, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(bus);
    const address = await new Promise<string>((resolve, reject) => {
      bus.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(line.trim()));
      bus.once('error', reject);
    });
    // secret-tool, run by the code under test, inherits this worker's environment.
    process.env.DBUS_SESSION_BUS_ADDRESS = address;
    const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_RUNTIME_DIR: home };
    const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(keyring);
    keyring.stdin!.end('test-keyring-password');
    const probe = new SecretServiceKeySource(runCommand, { application: 'bifrost-edge-test-probe' });
    for (let attempt = 0; attempt < 50 && (await probe.probe()) !== undefined; attempt++) await new Promise((r) => setTimeout(r, 100));
    expect(await probe.probe()).toBeUndefined();
    // The daemon may answer lookups before it has created (and unlocked) the login collection, and stores
    // fail until then ("Object does not exist at path …/collection/login"): wait until one succeeds.
    let stored = false;
    let lastError = '';
    for (let attempt = 0; attempt < 100 && !stored; attempt++) {
      stored = (await probe.getKey(true).catch((e: Error) => { lastError = e.message; return undefined; })) !== undefined;
      if (!stored) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored, `gnome-keyring never accepted a secret: ${lastError}`).toBe(true);
    await probe.deleteKey();
  });

  afterAll(() => {
    for (const child of children.reverse()) child.kill();
  });

  it('is chosen for headless Linux, keeps the key in the keyring, and round-trips the session', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-secret-service-'));
    const store = await createTokenStore({ dataDir, platform: 'linux' });
    expect(store.describe()).toMatchObject({ backend: 'secret-service' });
    expect(store.describe().warning).toBeUndefined();

    const tokens: SessionTokens = {
      version: 1, issuer: 'https://login.example.com', clientId: 'edge', accessToken: 'access', tokenType: 'bearer',
      refreshToken: 'refresh', idToken: 'id', idTokenClaims: { sub: 'alice' }, receivedAt: 1,
    };
    await store.save(tokens);
    expect(await store.load()).toEqual(tokens);
    // No key file next to the data: the key lives in the keyring only.
    expect(fs.readdirSync(authDirectory(dataDir))).toEqual(['session.secret-service.json']);
    const key = new SecretServiceKeySource(runCommand, { application: 'bifrost-edge', purpose: 'session-key', 'data-dir': dataDir });
    expect((await key.getKey(false))?.length).toBe(32);

    await store.clear();
    expect(await store.load()).toBeUndefined();
    expect(await key.getKey(false)).toBeUndefined();
  });
});
