import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { browsingEmployee, launchChromium } from '../auth/headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from '../auth/oidc-test-provider.js';
import { ADA_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { runCliLogin } from './support-oidc/cli-login.js';
import { EDGE_BIN } from '../support/edge-process.js';
import { execFile } from 'node:child_process';

/** Runs the real CLI to its end. */
function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EDGE_BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The whole OIDC path on one machine: an employee signs in with `bifrost-edge login` (real CLI,
 * real oidc-provider, headless Chromium as the browser), the agent enrolls at Edge Control with the
 * saved ID token, receives the virtual key assigned to that person, and forwards with it.
 */

const client = (edge: EdgeProcess) => new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
const ask = (edge: EdgeProcess, model: string, content = 'hi') => client(edge).chat.completions.create({ model, messages: [{ role: 'user', content }] });

describe('OIDC sign-in → enrollment → forwarding with the enrolled virtual key', () => {
  let idp: TestProvider;
  let browser: Browser;
  let fixture: ControlFixture;
  const edges: EdgeProcess[] = [];
  const dirs: string[] = [];

  const agentConfig = () => ({
    auth: { issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' },
    control: { url: fixture.server.url, enrollment: 'oidc' },
    gateway: { url: fixture.standin.url },
  });

  function dataDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `edge-oidc-${prefix}-`));
    dirs.push(dir);
    return dir;
  }

  async function startEdge(dir: string): Promise<EdgeProcess> {
    const edge = await startEdgeProcess({ dataDir: dir, config: agentConfig() });
    edges.push(edge);
    return edge;
  }

  beforeAll(async () => {
    [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
    // Edge Control trusts the provider's ID tokens: their audience is the native client's id.
    // Ada's key is assigned by email: this provider (oidc-provider, conformIdTokenClaims on by
    // default) puts only `sub` in ID tokens from the code flow, so Edge Control reads email and
    // groups from userinfo with the access token the device sends along.
    fixture = await startControlFixture({
      config: {
        oidc: { issuers: [{ issuer: idp.issuer, audience: TEST_CLIENT_ID }] },
        assignments: { users: { 'ada@example.com': [ADA_KEY.id!] } },
      },
    });
  });

  afterAll(async () => {
    for (const edge of edges) await edge.stop();
    await fixture?.close();
    await browser?.close();
    await idp?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('before anyone signs in, the agent refuses AI requests with 401 virtual_key_required', async () => {
    const edge = await startEdge(dataDir('signed-out'));
    fixture.standin.clear();
    const error = await ask(edge, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect(((error as InstanceType<typeof OpenAI.AuthenticationError>).error as { type: string }).type).toBe('virtual_key_required');
    expect(fixture.standin.received.filter((r) => r.path === '/openai/v1/chat/completions')).toHaveLength(0);
    await edge.stop();
  }, 45_000);

  it('a signed-in agent forwards with the enrolled virtual key', async () => {
    const dir = dataDir('signed-in');
    // `bifrost-edge login` reads the same managed configuration and data dir the agent will.
    const configFile = path.join(dir, 'edge-config.json');
    fs.writeFileSync(configFile, JSON.stringify({ metrics: { port: 0 }, ...agentConfig() }));
    const employee = browsingEmployee(browser, { login: 'ada' });
    let login;
    try {
      login = await runCliLogin({ configFile, dataDir: dir, openBrowser: employee.openBrowser });
      expect((await employee.result()).text).toBeTruthy();
    } finally {
      await employee.close();
    }
    expect(login.openedUrl.startsWith(`${idp.issuer}/auth?`)).toBe(true);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Signed in to Bifrost Edge as Test Ada <ada@example.com>.');

    const edge = await startEdge(dir);

    // The device enrolls with Ada's ID token; the signed bundle carries her key (gpt-4o-mini only).
    let last: unknown;
    const blocked = await waitFor(async () => {
      const e = last = await ask(edge, 'gpt-4o').catch((err: unknown) => err);
      return e instanceof OpenAI.PermissionDeniedError ? e : undefined;
    }, 15_000, 'the enrolled key\'s policy to block gpt-4o').catch((error: Error) => {
      throw new Error(`${error.message}; last answer: ${String(last)}\nagent stderr:\n${edge.stderr()}`);
    });
    expect(blocked.status).toBe(403);
    expect((blocked.error as { type: string }).type).toBe('model_blocked');
    expect(blocked.message).toMatch(/gpt-4o-mini/);

    const devices = (await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as { devices: Array<{ enrollment_method: string; subject: { sub: string; email?: string } }> };
    expect(devices.devices).toEqual([expect.objectContaining({ enrollment_method: 'oidc', subject: expect.objectContaining({ sub: 'ada', email: 'ada@example.com', groups: ['engineering', 'ai-users'] }) })]);

    fixture.standin.clear();
    const ok = await ask(edge, 'gpt-4o-mini', 'signed in as ada');
    expect(ok.choices[0]?.message.content).toContain('signed in as ada');
    const seen = await fixture.standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions', 5_000);
    expect(seen.headers['x-bf-vk']).toBe(ADA_KEY.value);
    expect(seen.headers['x-bf-lh-user']).toBe('ada@example.com');
    // The app's own provider key never leaves the laptop in gateway mode.
    expect(JSON.stringify(seen.headers)).not.toContain('sk-proj-app');
    // gpt-4o was refused on the device, so the gateway saw only the allowed request.
    expect(fixture.standin.received.filter((r) => r.path === '/openai/v1/chat/completions')).toHaveLength(1);

    // The signed-in identity is on the audit records the device ships.
    const audited = await waitFor(async () => {
      const page = (await fixture.admin('GET', '/api/edge/v1/admin/audit?limit=1000')).json as { records: Array<{ record: { decision: string; model?: string; user?: { sub?: string; email?: string } } }> };
      return page.records.find((r) => r.record.decision === 'allowed' && r.record.model === 'gpt-4o-mini');
    }, 15_000, 'the allowed request audited at Edge Control');
    expect(audited.record.user).toEqual({ sub: 'ada', email: 'ada@example.com' });
  }, 90_000);

  it('an agent already running picks up a `bifrost-edge login` made next to it, and a `logout`, without a restart', async () => {
    const dir = dataDir('login-while-running');
    const edge = await startEdge(dir);
    const refused = await ask(edge, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);

    const configFile = path.join(dir, 'edge-config.json');
    const employee = browsingEmployee(browser, { login: 'ada' });
    try {
      const login = await runCliLogin({ configFile, dataDir: dir, openBrowser: employee.openBrowser });
      expect(login.code, login.stderr).toBe(0);
    } finally {
      await employee.close();
    }
    // The agent adopts the saved sign-in within seconds and enrolls: the bundle with Ada's key arrives.
    const blocked = await waitFor(async () => {
      const e = await ask(edge, 'gpt-4o').catch((err: unknown) => err);
      return e instanceof OpenAI.PermissionDeniedError ? e : undefined;
    }, 15_000, 'the running agent to enroll with the new sign-in').catch((error: Error) => {
      throw new Error(`${error.message}\nagent stderr:\n${edge.stderr()}`);
    });
    expect((blocked.error as { type: string }).type).toBe('model_blocked');
    expect((await ask(edge, 'gpt-4o-mini', 'after login')).choices[0]?.message.content).toContain('after login');

    // `bifrost-edge logout` next to it: the agent stops acting for Ada within seconds, without a restart.
    const logout = await runCli(['logout', '--config', configFile, '--data-dir', dir]);
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/Signed out of Bifrost Edge/);
    const signedOut = await waitFor(async () => {
      const e = await ask(edge, 'gpt-4o-mini', 'after logout').catch((err: unknown) => err);
      return e instanceof OpenAI.AuthenticationError ? e : undefined;
    }, 20_000, 'the running agent to notice the sign-out').catch((error: Error) => {
      throw new Error(`${error.message}\nagent stderr:\n${edge.stderr()}`);
    });
    expect((signedOut.error as { type: string }).type).toBe('virtual_key_required');
    expect(edge.stderr()).toMatch(/signed out: the saved sign-in was deleted by another Bifrost Edge process/);
  }, 120_000);
});
