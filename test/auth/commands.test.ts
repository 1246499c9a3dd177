import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthConfig, type AuthConfig } from '../../src/auth/auth-config.js';
import { runLoginCommand, runLogoutCommand, runWhoamiCommand, type CommandOutput } from '../../src/auth/commands.js';
import { createTokenStore } from '../../src/auth/create-token-store.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { browsingEmployee, launchChromium } from './headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from './oidc-test-provider.js';

let idp: TestProvider;
let browser: Browser;
let config: AuthConfig;

beforeAll(async () => {
  [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
  config = parseAuthConfig({ issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' });
});

afterAll(async () => {
  await browser?.close();
  await idp?.close();
});

function capture(): CommandOutput & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

async function headlessStore(): Promise<TokenStore> {
  return createTokenStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-cli-')), platform: 'win32' });
}

describe('bifrost-edge login / whoami / logout', () => {
  it('signs in, shows who is signed in, and signs out', async () => {
    const store = await headlessStore();
    const employee = browsingEmployee(browser, { login: 'bob' });
    const login = capture();
    try {
      expect(await runLoginCommand({ config, store, output: login, openBrowser: employee.openBrowser })).toBe(0);
    } finally {
      await employee.close();
    }
    const progress = login.stderr.join('\n');
    expect(progress).toContain('Opening your browser to sign in to Bifrost Edge…');
    expect(progress).toMatch(/If it does not open, visit:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    expect(progress).toMatch(/Warning: .*casual disclosure/);
    expect(login.stdout[0]).toBe('Signed in to Bifrost Edge as Test Bob <bob@example.com>.');
    expect(login.stdout.join('\n')).toMatch(/groups: +engineering, ai-users/);

    const whoami = capture();
    expect(await runWhoamiCommand({ config, store, output: whoami })).toBe(0);
    expect(whoami.stdout[0]).toBe('Signed in to Bifrost Edge as Test Bob <bob@example.com>.');
    expect(whoami.stdout.join('\n')).toMatch(/subject: +bob\n.*email: +bob@example\.com\n.*groups: +engineering, ai-users\n.*issuer: +http:\/\/127\.0\.0\.1:\d+\n.*token: +valid until .* \(renewed automatically\)\n.*stored in: encrypted-file/);

    const json = capture();
    expect(await runWhoamiCommand({ config, store, output: json }, { json: true })).toBe(0);
    const answer = JSON.parse(json.stdout[0]!) as { signedIn: boolean; identity: Record<string, unknown>; storage: Record<string, unknown> };
    expect(answer.signedIn).toBe(true);
    expect(answer.identity).toMatchObject({ sub: 'bob', email: 'bob@example.com', name: 'Test Bob', groups: ['engineering', 'ai-users'], issuer: idp.issuer });
    expect(typeof answer.identity.expiresAt).toBe('string');
    expect(answer.storage).toMatchObject({ backend: 'encrypted-file' });
    expect(JSON.stringify(answer)).not.toMatch(/eyJ/);

    const logout = capture();
    expect(await runLogoutCommand({ config, store, output: logout })).toBe(0);
    expect(logout.stdout).toEqual([`Signed out of Bifrost Edge: your tokens were revoked at ${idp.issuer} and deleted from this device.`]);

    const after = capture();
    expect(await runWhoamiCommand({ config, store, output: after }, { json: true })).toBe(1);
    expect(after.stdout).toEqual(['{"signedIn":false}']);
    expect(after.stderr).toEqual(['Not signed in to Bifrost Edge. Run `bifrost-edge login`.']);

    const again = capture();
    expect(await runLogoutCommand({ config, store, output: again })).toBe(0);
    expect(again.stdout[0]).toMatch(/^Not signed in; nothing to sign out of/);
  });

  it('prints the URL and a clear reason when sign-in fails', async () => {
    const output = capture();
    const code = await runLoginCommand({ config, store: await headlessStore(), output, timeoutMs: 200, openBrowser: async () => { throw new Error('no display'); } });
    expect(code).toBe(1);
    const text = output.stderr.join('\n');
    expect(text).toMatch(/visit:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    expect(text).toContain('Could not open a browser (no display). Open the address above in a browser on this computer.');
    expect(text).toMatch(/Sign-in failed: No browser returned to Bifrost Edge within 200 ms/);
  });

  it('says when sign-in is not configured', async () => {
    const output = capture();
    expect(await runLoginCommand({ config: undefined, store: await headlessStore(), output })).toBe(2);
    expect(output.stderr[0]).toMatch(/Sign-in is not configured on this device\. IT sets auth\.issuer and auth\.clientId/);
  });

  it('whoami reports a damaged saved sign-in instead of trusting it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-cli-'));
    const store = await createTokenStore({ dataDir, platform: 'win32' });
    fs.mkdirSync(path.join(dataDir, 'auth'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'auth', 'session.enc.json'), '{"format":"something else"}');
    const output = capture();
    expect(await runWhoamiCommand({ config, store, output })).toBe(1);
    expect(output.stderr[0]).toMatch(/The saved sign-in .*session\.enc\.json is damaged .*bifrost-edge logout/);

    // logout still cleans it up, even though it can't be read (and so can't be revoked).
    const logout = capture();
    expect(await runLogoutCommand({ config, store, output: logout })).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'auth', 'session.enc.json'))).toBe(false);
  });
});
