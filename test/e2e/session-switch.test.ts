import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { browsingEmployee, launchChromium } from '../auth/headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from '../auth/oidc-test-provider.js';
import { ADA_KEY, ENGINEERING_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * One laptop, two people: the device forwards with the key of whoever is signed in, never with the
 * previous person's. The agent runs in-process (as in the desktop app) so the test can sign in and
 * out through its session.
 */
describe('signing out, and someone else signing in', () => {
  let idp: TestProvider;
  let browser: Browser;
  let fixture: ControlFixture;
  let agent: RunningAgent | undefined;

  beforeAll(async () => {
    [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
    fixture = await startControlFixture({
      config: {
        oidc: { issuers: [{ issuer: idp.issuer, audience: TEST_CLIENT_ID }] },
        assignments: { users: { 'ada@example.com': [ADA_KEY.id!], 'bob@example.com': [ENGINEERING_KEY.id!] } },
      },
    });
  });
  afterAll(async () => {
    await agent?.close();
    await fixture?.close();
    await browser?.close();
    await idp?.close();
  });

  const signIn = async (login: string) => {
    const employee = browsingEmployee(browser, { login });
    try {
      await agent!.session!.signIn({ openBrowser: employee.openBrowser });
    } finally {
      await employee.close();
    }
  };
  const ask = (model: string) => {
    const caPem = fs.readFileSync(agent!.caPath, 'utf8');
    return new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(agent!.proxyUrl, caPem) } as never, maxRetries: 0 })
      .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  };
  const lastKeySent = async () => (await fixture.standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions', 5_000)).headers['x-bf-vk'];

  it('forwards with Ada\'s key, refuses once she signs out, and with Bob signed in uses his', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-session-switch-'));
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir, logLevel: 'silent', proxy: { port: 0 }, metrics: { port: null },
        auth: { issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' },
        control: { url: fixture.server.url, enrollment: 'oidc' },
        gateway: { url: fixture.standin.url },
      },
    });
    agent = await startAgent(config, { log: silentLogger });

    await signIn('ada');
    // Ada's key allows gpt-4o-mini only: her bundle is in force once gpt-4o is refused.
    await waitFor(async () => (await ask('gpt-4o').catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 15_000, 'Ada\'s bundle');
    fixture.standin.clear();
    await ask('gpt-4o-mini');
    expect(await lastKeySent()).toBe(ADA_KEY.value);

    await agent.session!.signOut();
    fixture.standin.clear();
    const refused = await ask('gpt-4o-mini').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(fixture.standin.received.filter((r) => r.path === '/openai/v1/chat/completions')).toHaveLength(0);

    await signIn('bob');
    // Bob's engineering key allows gpt-4o: the device enrolled again, for him.
    const answered = await waitFor(async () => (await ask('gpt-4o').catch(() => undefined)), 20_000, 'Bob\'s bundle');
    expect(answered.choices[0]?.message.content).toBeTruthy();
    expect(await lastKeySent()).toBe(ENGINEERING_KEY.value);
    const devices = (await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as { devices: Array<{ subject: { sub: string } }> };
    expect(devices.devices.map((d) => d.subject.sub).sort()).toEqual(['ada', 'bob']);
  }, 90_000);
});
