import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from '../auth/oidc-test-provider.js';
import { ADA_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { EDGE_BIN, startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * A contractor without an account at the company's identity provider: the device is set up for OIDC
 * enrollment, Edge Control also allows virtual keys, and the person signs in with the key an admin
 * gave them (`bifrost-edge login --virtual-key`) while the agent is already running. The agent
 * enrolls with it at its next attempt, without a restart, and forwards with it.
 */

const client = (edge: EdgeProcess) => new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
const ask = (edge: EdgeProcess, model: string, content = 'hi') => client(edge).chat.completions.create({ model, messages: [{ role: 'user', content }] });

/** `bifrost-edge login --virtual-key` with the key piped on stdin, as a script (or a person with a pipe) runs it. */
function loginWithVirtualKey(configFile: string, dataDir: string, key: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [EDGE_BIN, 'login', '--virtual-key', '--config', configFile, '--data-dir', dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.end(`${key}\n`);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('virtual-key sign-in on a device set up for OIDC', () => {
  let idp: TestProvider;
  let fixture: ControlFixture;
  let edge: EdgeProcess | undefined;
  let dataDir: string;

  beforeAll(async () => {
    idp = await startTestProvider();
    fixture = await startControlFixture({
      config: { allow_virtual_key_enrollment: true, oidc: { issuers: [{ issuer: idp.issuer, audience: TEST_CLIENT_ID }] } },
    });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-vk-signin-'));
  });

  afterAll(async () => {
    await edge?.stop();
    await fixture?.close();
    await idp?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // A failure here is about timing between processes: the agent's own log says what it saw.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`agent log:\n${edge?.stderr()}`);
  });

  it('is refused until the person signs in with a key, then enrolls with it without a restart', async () => {
    edge = await startEdgeProcess({
      dataDir,
      config: {
        auth: { issuer: idp.issuer, clientId: TEST_CLIENT_ID },
        control: { url: fixture.server.url, enrollment: 'oidc' },
        gateway: { url: fixture.standin.url },
      },
    });
    const running = edge;

    // Nobody has signed in: refused on the device, nothing reaches the gateway.
    fixture.standin.clear();
    const refused = await ask(running, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect(((refused as InstanceType<typeof OpenAI.AuthenticationError>).error as { type: string }).type).toBe('virtual_key_required');
    await waitFor(() => /enrollment failed: not signed in yet/.test(running.stderr()), 10_000, 'the agent to wait for a sign-in');
    // Let its enrollment backoff grow past 10 s, so a quick enrollment below can only be the agent
    // noticing the saved key, not its next scheduled attempt.
    const longBackoff = () => [...running.stderr().matchAll(/not signed in yet.*retrying in (\d+) s/g)].some((m) => Number(m[1]) >= 10);
    await waitFor(longBackoff, 30_000, 'the enrollment backoff to pass 10 s');
    const loginStarted = Date.now();

    // The same configuration file and data dir the agent uses.
    const login = await loginWithVirtualKey(path.join(dataDir, 'edge-config.json'), dataDir, ADA_KEY.value!);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Signed in to Bifrost Edge with a virtual key sk-bf-…0001.');

    // The agent notices the saved key within seconds and enrolls with it (it does not wait out its
    // enrollment backoff, up to a minute); Ada's key allows gpt-4o-mini only.
    let last: unknown;
    const blocked = await waitFor(async () => {
      const e = last = await ask(running, 'gpt-4o').catch((err: unknown) => err);
      return e instanceof OpenAI.PermissionDeniedError ? e : undefined;
    }, 9_000, 'the agent to enroll with the signed-in key').catch((error: Error) => {
      throw new Error(`${error.message}; last answer: ${String(last)}`);
    });
    expect((blocked.error as { type: string }).type).toBe('model_blocked');
    expect(running.stderr()).toMatch(/a virtual key was saved by another Bifrost Edge process .*enrolling with it now/);
    expect(Date.now() - loginStarted).toBeLessThan(10_000);

    fixture.standin.clear();
    const ok = await ask(running, 'gpt-4o-mini', 'signed in with a virtual key');
    expect(ok.choices[0]?.message.content).toContain('signed in with a virtual key');
    const seen = await fixture.standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions', 5_000);
    expect(seen.headers['x-bf-vk']).toBe(ADA_KEY.value);
    expect(JSON.stringify(seen.headers)).not.toContain('sk-proj-app');

    const devices = (await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as { devices: Array<{ enrollment_method: string; subject: { sub: string } }> };
    expect(devices.devices).toEqual([expect.objectContaining({ enrollment_method: 'virtual_key', subject: expect.objectContaining({ sub: 'virtual-key:vk-ada' }) })]);

    // Edge Control's audit trail names who the device was enrolled for: the virtual key's subject.
    const audited = await waitFor(async () => {
      const page = (await fixture.admin('GET', '/api/edge/v1/admin/audit?limit=1000')).json as { records: Array<{ record: { decision: string; model?: string; user?: { sub?: string } } }> };
      return page.records.find((r) => r.record.decision === 'allowed' && r.record.model === 'gpt-4o-mini');
    }, 15_000, 'the allowed request audited at Edge Control');
    expect(audited.record.user).toEqual({ sub: 'virtual-key:vk-ada' });

    // The key never shows up in the agent's log, even at debug level.
    expect(running.stderr()).not.toContain(ADA_KEY.value);
  }, 120_000);
});
