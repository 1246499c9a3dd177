import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { ADA_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl, openConnectTunnel, proxyDispatcher, tlsThroughProxy, undiciFetch } from '../support/proxy-clients.js';

interface AdminAudit { records: Array<{ device_id: string; seq: number; record: { request_id: string; decision: string; reason?: string; content?: { sha256?: string } } }>; next_after?: number }

async function allAuditRecords(fixture: ControlFixture): Promise<AdminAudit['records']> {
  const out: AdminAudit['records'] = [];
  let after = 0;
  for (;;) {
    const page = (await fixture.admin('GET', `/api/edge/v1/admin/audit?after=${after}&limit=1000`)).json as AdminAudit;
    out.push(...page.records);
    if (!page.next_after) return out;
    after = page.next_after;
  }
}

function edgeConfig(fixture: ControlFixture) {
  return {
    gateway: { url: fixture.standin.url, virtualKey: ADA_KEY.value },
    control: { url: fixture.server.url, enrollment: 'virtual_key' },
  };
}

const client = (edge: EdgeProcess) => new OpenAI({ apiKey: 'sk-proj-app', fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });

describe('a running agent under Edge Control', () => {
  let fixture: ControlFixture;
  let edge: EdgeProcess;

  beforeAll(async () => {
    fixture = await startControlFixture();
    edge = await startEdgeProcess({ config: edgeConfig(fixture) });
  });
  afterAll(async () => {
    await edge?.stop();
    await fixture?.close();
  });
  // A failure here is about timing between two processes: the agent's own log says what it saw.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`agent log:\n${edge?.stderr()}`);
  });

  it('enrolls, enforces the synced key policy, and applies an admin policy change within 5 s', async () => {
    // The bundle carries Ada's key: only gpt-4o-mini on openai.
    await waitFor(async () => (await client(edge).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 10_000, 'the synced bundle to block gpt-4o');
    const ok = await client(edge).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'allowed' }] });
    expect(ok.choices[0]?.message.content).toContain('allowed');

    const viaCurl = () => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions', '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'from curl' }] })]);
    expect((await viaCurl()).status).toBe(200);
    const template = (await fixture.admin('GET', '/api/edge/v1/admin/policy')).json as { policy: Record<string, unknown> };
    const started = Date.now();
    const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { ...template.policy, apps: { catalog: [{ id: 'curl', name: 'curl', status: 'denied', match: { user_agents: ['^curl/'] } }] } });
    expect(put.status).toBe(200);
    const blocked = await waitFor(async () => {
      const res = await viaCurl();
      return res.status === 403 ? res : undefined;
    }, 5_000, 'the pushed policy to deny curl');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.parse(blocked.body).type).toBe('app_blocked');
    // Other apps are unaffected.
    expect((await client(edge).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still fine' }] })).choices[0]?.message.content).toContain('still fine');
  });

  it('ships audit records of those decisions to Edge Control', async () => {
    const records = await waitFor(async () => {
      const all = await allAuditRecords(fixture);
      return all.some((r) => r.record.reason === 'app_blocked') && all.some((r) => r.record.reason === 'model_blocked') ? all : undefined;
    }, 15_000, 'audit records at the server');
    expect(records.some((r) => r.record.decision === 'allowed')).toBe(true);
    expect(new Set(records.map((r) => r.record.request_id)).size).toBe(records.length);
  });
});

describe('an intercept list pushed from Edge Control', () => {
  it('decrypts a host the admin adds, from the next connection on', async () => {
    const fixture = await startControlFixture();
    const edge = await startEdgeProcess({ config: edgeConfig(fixture) });
    try {
      await waitFor(async () => (await client(edge).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 10_000, 'the first bundle');
      // Not on the built-in list: blind-tunnelled, so Edge dials it (and, offline, cannot).
      const before = await openConnectTunnel(edge.proxyUrl, 'ai.internal.test:443');
      before.socket.destroy();
      expect(before.status).toBe(502);

      const template = (await fixture.admin('GET', '/api/edge/v1/admin/policy')).json as { policy: Record<string, unknown> };
      // A pattern that does not compile is refused at the PUT, with the reason.
      const typo = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { ...template.policy, intercept_hosts: ['api-*.internal.test'] });
      expect(typo.status).toBe(400);
      expect(JSON.stringify(typo.json)).toMatch(/intercept_hosts.*a wildcard must be a whole label/);
      const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { ...template.policy, intercept_hosts: ['api.openai.com', 'ai.internal.test'] });
      expect(put.status).toBe(200);
      const seen = await waitFor(async () => {
        const attempt = await tlsThroughProxy(edge.proxyUrl, 'ai.internal.test', 443, { ca: edge.caPem }).catch(() => undefined);
        attempt?.socket.destroy();
        return attempt?.authorized ? attempt : undefined;
      }, 5_000, 'the pushed intercept list to decrypt ai.internal.test');
      expect(seen.cert.subject.CN).toBe('ai.internal.test');
      expect(edge.stderr()).toMatch(/intercept list from policy version \d+/);
    } finally {
      await edge.stop();
      await fixture.close();
    }
  });
});

describe('the heartbeat inventory', () => {
  it('lists the AI apps the device decided requests for', async () => {
    const fixture = await startControlFixture();
    const edge = await startEdgeProcess({ config: { ...edgeConfig(fixture), control: { url: fixture.server.url, enrollment: 'virtual_key', heartbeatSeconds: 10 } } });
    try {
      await waitFor(async () => (await client(edge).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 10_000, 'the first bundle');
      await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions', '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })]);
      type Devices = { devices: Array<{ apps_seen: Array<{ app: string; host?: string; status?: string; requests?: number }> }> };
      const apps = await waitFor(async () => {
        const seen = ((await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as Devices).devices.flatMap((d) => d.apps_seen);
        return seen.length >= 2 ? seen : undefined;
      }, 25_000, 'a heartbeat carrying the apps seen');
      expect(apps.every((a) => a.host === 'api.openai.com' && a.status === 'pending')).toBe(true);
      expect(apps.map((a) => a.app)).toEqual(expect.arrayContaining([expect.stringMatching(/curl/)]));
      expect(apps.reduce((sum, a) => sum + (a.requests ?? 0), 0)).toBeGreaterThanOrEqual(2);
    } finally {
      await edge.stop();
      await fixture.close();
    }
  }, 45_000);
});

describe('SIGKILL under load loses no answered request and duplicates nothing', () => {
  it('every answered request has exactly one audit record at the server', async () => {
    const fixture = await startControlFixture();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-sigkill-'));
    const answered: string[] = [];
    let counter = 0;
    try {
      for (let round = 0; round < 4; round++) {
        const edge = await startEdgeProcess({ dataDir, config: edgeConfig(fixture) });
        const openai = client(edge);
        const killAt = Date.now() + 300 + Math.random() * 700;
        const answeredBefore = answered.length;
        let killed = false;
        const workers = Array.from({ length: 4 }, async () => {
          while (!killed) {
            const prompt = `kill-test prompt ${round}-${counter++}`;
            try {
              await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
              answered.push(prompt);
            } catch {
              // Cut off by the kill: not answered, so no promise about its record.
            }
          }
        });
        await new Promise((r) => setTimeout(r, killAt - Date.now()));
        // Each round has answered something before it dies (on a loaded machine the first answers can take longer
        // than the random delay, and four rounds of nothing would test no record at all).
        await waitFor(async () => (answered.length >= answeredBefore + 3 ? true : undefined), 30_000, 'three answers this round');
        edge.child.kill('SIGKILL');
        killed = true;
        await Promise.all(workers);
        await edge.stop();
      }
      // One more clean run ships whatever the killed runs left in the outbox.
      const last = await startEdgeProcess({ dataDir, config: edgeConfig(fixture) });
      const digests = new Set(answered.map((p) => createHash('sha256').update(p).digest('hex')));
      const records = await waitFor(async () => {
        const all = await allAuditRecords(fixture);
        const seen = new Set(all.map((r) => r.record.content?.sha256));
        return [...digests].every((d) => seen.has(d)) ? all : undefined;
      }, 20_000, 'every answered request at the server');
      await last.stop();
      expect(answered.length).toBeGreaterThan(10);
      const perDigest = new Map<string, number>();
      for (const r of records) {
        const d = r.record.content?.sha256;
        if (d) perDigest.set(d, (perDigest.get(d) ?? 0) + 1);
      }
      for (const d of digests) expect(perDigest.get(d)).toBe(1);
      // Nothing stored twice: one record per (device, seq) and per request id.
      expect(new Set(records.map((r) => `${r.device_id}:${r.seq}`)).size).toBe(records.length);
      expect(new Set(records.map((r) => r.record.request_id)).size).toBe(records.length);
    } finally {
      await fixture.close();
    }
  }, 120_000);
});
