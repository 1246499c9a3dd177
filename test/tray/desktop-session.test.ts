import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import type { SafeStorageLike } from '../../src/auth/safe-storage-token-store.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { browsingEmployee, launchChromium } from '../auth/headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from '../auth/oidc-test-provider.js';

/**
 * What main/main.ts does in the desktop app, minus Electron: the agent runs in-process with Electron's
 * safeStorage, and the tray signs in through the agent's own session. A stand-in for safeStorage
 * (reversible, recording what it encrypted) shows the tokens go through it.
 */
function recordingSafeStorage(): SafeStorageLike & { encrypted: number } {
  const stand = {
    encrypted: 0,
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptString(plain: string): Buffer {
      stand.encrypted++;
      return Buffer.from(Buffer.from(plain, 'utf8').map((b) => b ^ 0x5a));
    },
    decryptString(data: Buffer): string {
      return Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8');
    },
  };
  return stand;
}

async function userInStatus(agent: RunningAgent): Promise<{ name?: string }> {
  const status = await (await fetch(`${agent.proxyUrl}/status.json`)).json() as { policy: { user: { name?: string } } };
  return status.policy.user;
}

describe('the desktop app signs in through the agent\'s own session', () => {
  let idp: TestProvider;
  let browser: Browser;
  let agent: RunningAgent | undefined;

  beforeAll(async () => {
    [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
  });
  afterAll(async () => {
    await agent?.close();
    await browser?.close();
    await idp?.close();
  });

  it('keeps the tokens with safeStorage, where the agent (and its enrollment) reads them', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-desktop-session-'));
    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent', proxy: { port: 0 }, metrics: { port: null }, auth: { issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' } } });
    const safeStorage = recordingSafeStorage();
    agent = await startAgent(config, { log: silentLogger, safeStorage });
    expect(agent.session).toBeDefined();
    expect((await userInStatus(agent)).name).toBeUndefined();

    const employee = browsingEmployee(browser, { login: 'ada' });
    try {
      const { identity } = await agent.session!.signIn({ openBrowser: employee.openBrowser });
      expect(identity.sub).toBe('ada');
    } finally {
      await employee.close();
    }
    expect(safeStorage.encrypted).toBeGreaterThan(0);
    const authFiles = fs.readdirSync(path.join(dataDir, 'auth'));
    expect(authFiles).toContain('session.safe-storage.json');
    // Nothing readable on disk: the access token is only in the safeStorage envelope.
    const onDisk = authFiles.map((f) => fs.readFileSync(path.join(dataDir, 'auth', f), 'utf8')).join('\n');
    expect(onDisk).not.toContain('ada@example.com');

    // The agent's status now names the signed-in person: the same session drives enforcement.
    expect((await userInStatus(agent)).name).toBe('ada@example.com');
  }, 60_000);
});
