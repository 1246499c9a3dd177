import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { createAgentClient } from '../../src/tray/agent-client.js';
import type { PlannedNotification } from '../../src/tray/notification-planner.js';
import { TrayController, type SessionView } from '../../src/tray/tray-controller.js';
import type { TrayModel } from '../../src/tray/tray-model.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { KEY, agentJson, chat, writePolicyFile } from '../renderer/live-agent.js';

/**
 * The tray loop the Electron shell runs, against the agent started in-process exactly as main/main.ts
 * starts it (startAgent), with a recording shell in place of Electron's Tray and Notification.
 */
describe('TrayController against an in-process agent', () => {
  let standin: BifrostStandin;
  let agent: RunningAgent;
  let caPem: string;
  let controller: TrayController;
  const renders: TrayModel[] = [];
  const notifications: PlannedNotification[] = [];
  const errors: unknown[] = [];
  let session: SessionView = { signedIn: false, signInAvailable: true };

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-tray-'));
    const config = loadConfig({
      env: {},
      overrides: { dataDir, logLevel: 'silent', proxy: { port: 0 }, gateway: { url: standin.url }, policyFile: writePolicyFile(dataDir), metrics: { port: null } },
    });
    agent = await startAgent(config, { log: silentLogger });
    caPem = fs.readFileSync(agent.caPath, 'utf8');
    controller = new TrayController({
      client: createAgentClient(agent.proxyUrl),
      shell: { render: (model) => renders.push(model), notify: (n) => notifications.push(n) },
      session: () => session,
      onError: (err) => errors.push(err),
    });
  });

  afterAll(async () => {
    controller?.stop();
    await agent?.close().catch(() => undefined);
    await standin?.close();
  });

  const last = () => renders.at(-1)!;
  const labels = (model: TrayModel) => model.menu.map((item) => (item.kind === 'separator' ? '---' : item.label));

  it('renders the agent state: protecting, key and policy version, Sign in offered', async () => {
    await controller.tick();
    expect(last().icon).toBe('ok');
    expect(last().tooltip).toBe('Bifrost Edge: Protecting AI traffic');
    expect(labels(last())).toEqual([
      'Protecting AI traffic',
      "Not signed in · key 'eng-team'",
      expect.stringMatching(/^Policy v7, issued (at|on \d{1,2} \w{3} at) \d\d:\d\d$/),
      '---', 'Open status…', 'Recent activity…', '---', 'Sign in…', '---', 'Quit Bifrost Edge',
    ]);
    expect(notifications).toEqual([]);
  });

  it('does not hand the shell the same model twice (an open menu would close)', async () => {
    const before = renders.length;
    await controller.tick();
    await controller.tick();
    expect(renders.length).toBe(before);
    session = { signedIn: true, signInAvailable: true, user: 'ada@example.com' };
    controller.rerender();
    expect(renders.length).toBe(before + 1);
    expect(labels(last())).toContain('Sign out');
  });

  it('a blocked request becomes one notification a person understands; clicking it opens that notice', async () => {
    expect((await chat(agent.proxyUrl, caPem, 'gpt-4o')).status).toBe(403);
    expect((await chat(agent.proxyUrl, caPem, 'gpt-4o')).status).toBe(403);
    await controller.tick();
    const notices = await agentJson<Array<{ id: string; kind: string; count: number }>>(agent.proxyUrl, '/notices.json');
    const block = notices.find((n) => n.kind === 'blocked')!;
    expect(block.count).toBe(2);
    const blockNotification = notifications.find((n) => n.noticeId === block.id);
    expect(blockNotification).toEqual({
      title: 'Blocked: gpt-4o is not allowed (2 times)',
      body: "OpenAI SDK client: Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini, o3-mini. Ask your admin, or pick an allowed model.",
      noticeId: block.id,
    });
    // The SDK is not in the policy's (empty) app catalog: the person is told once that it was reported.
    // (Both notices are raised by the same request; which one the agent lists first is not the point.)
    expect(notifications.map((n) => n.title).sort()).toEqual(['Blocked: gpt-4o is not allowed (2 times)', 'OpenAI SDK client is not yet reviewed']);

    // More of the same within the bus's window: no new pop-up.
    await chat(agent.proxyUrl, caPem, 'gpt-4o');
    await controller.tick();
    expect(notifications).toHaveLength(2);
  });

  it('the agent going away turns the icon off and is reported once, not on every poll', async () => {
    await agent.close();
    await controller.tick();
    await controller.tick();
    expect(last().icon).toBe('off');
    expect(last().tooltip).toBe('Bifrost Edge: Bifrost Edge is not responding');
    expect(last().menu.find((i) => i.kind === 'action' && i.id === 'open-status')).toMatchObject({ enabled: false });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/did not answer http:\/\/127\.0\.0\.1:\d+\/status\.json/);
  });
});
