import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { formatStatus } from '../../src/policy/status-command.js';
import type { AgentStatus } from '../../src/tray/agent-status.js';
import { assessHealth } from '../../src/tray/tray-health.js';
import { curl } from '../support/proxy-clients.js';
import { ADA_KEY, startControlFixture, waitFor } from '../control/support/control-fixture.js';

/**
 * An agent restarted while Edge Control does not answer (a reboot off VPN, a crash and restart by the
 * service manager) with a cached fail-closed bundle: until Edge Control's first answer the policy is
 * not confirmed, so AI requests wait a moment for it and are refused if it does not come, instead of
 * passing until three calls have timed out. `status` and the tray say so. An online restart is not
 * held up: the first answer comes while the request waits.
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Edge Control behind a VPN that is down: connections open, nothing ever answers. */
async function silentServer(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function chat(agent: RunningAgent) {
  return curl(['-x', agent.proxyUrl, '--cacert', agent.caPath, 'https://api.openai.com/v1/chat/completions',
    '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] })]);
}

async function agentStatus(agent: RunningAgent): Promise<AgentStatus> {
  return await (await fetch(new URL('/status.json', agent.proxyUrl))).json() as AgentStatus;
}

describe('a fail-closed device restarted while Edge Control does not answer', () => {
  it('holds AI requests for Edge Control\'s first answer and refuses them if it does not come', async () => {
    const fixture = await startControlFixture();
    cleanups.push(() => fixture.close());
    const port = fixture.server.port;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fail-closed-restart-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const config = loadConfig({ env: {}, overrides: {
      dataDir, metrics: { port: null }, proxy: { port: 0 },
      gateway: { url: fixture.standin.url, virtualKey: ADA_KEY.value },
      control: { url: `http://127.0.0.1:${port}`, enrollment: 'virtual_key' },
    } });
    const run = async (): Promise<RunningAgent> => {
      const agent = await startAgent(config, { log: silentLogger });
      cleanups.push(() => agent.close());
      return agent;
    };

    // First run: enrolled, and Edge Control's fail-closed bundle is cached.
    const first = await run();
    await waitFor(async () => (await agentStatus(first)).policy.policy?.failMode === 'closed', 10_000, 'the fail-closed bundle');
    await first.close();

    // An online restart: the request arriving at once waits for the first answer and goes out.
    const online = await run();
    const answered = await chat(online);
    expect(answered.status).toBe(200);
    await online.close();

    // Edge Control out of reach: the cached bundle is enforced, but not confirmed.
    await fixture.server.close();
    const silent = await silentServer(port);
    cleanups.push(() => silent.close());
    const offline = await run();
    const sentBefore = fixture.standin.received.filter((r) => r.path.includes('chat/completions')).length;
    const startedAt = Date.now();
    const refused = await chat(offline);
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('still confirming your AI policy with Edge Control');
    expect(refused.body).not.toContain('cannot reach');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_500);
    expect(fixture.standin.received.filter((r) => r.path.includes('chat/completions'))).toHaveLength(sentBefore);

    const status = await agentStatus(offline);
    expect(status.policy.connectivity).toMatchObject({ controlPlane: true, controlPlaneConfirmed: false });
    expect(formatStatus(status.policy, { json: false })).toContain('Edge Control confirming the policy (no answer yet since Edge started; fail-closed, so AI requests wait for it)');
    expect(assessHealth({ status, reachable: true })[0]).toEqual({ severity: 'blocked', message: 'AI requests on hold: confirming the policy with Edge Control' });

    // Edge Control is back: its answer confirms the policy, and requests go out again.
    await silent.close();
    await fixture.restart({ listen: { port } });
    const confirmed = await waitFor(async () => {
      const now = await agentStatus(offline);
      return now.policy.connectivity.controlPlaneConfirmed === true ? now : undefined;
    }, 15_000, 'Edge Control to confirm the policy');
    expect(formatStatus(confirmed.policy, { json: false })).toContain('Edge Control reachable');
    expect((await chat(offline)).status).toBe(200);
  }, 60_000);
});
