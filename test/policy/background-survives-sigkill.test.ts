import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { SqliteBackgroundStore } from '../../src/policy/background-store.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type BackgroundCharge } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { bundle, NOW } from './support.js';

/**
 * A process holding background work waited for is killed with SIGKILL (nothing given up, nothing written on the way
 * out, the database's WAL never checkpointed): an enforcer started afterwards over the same policy.db still charges
 * the work its usage when it is fetched back. The child runs the built modules (dist/, compiled from the source by
 * test/global-setup.ts before the tests start), as the agent does.
 */

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src');

/** Starts a background response through the real enforcer, says `ready`, then waits to be killed. */
const CHILD = `
const { DIST, FILE, BUNDLE, NOW_MS } = process.env;
const { openPolicyDatabase } = await import(DIST + '/policy/policy-database.js');
const { SqliteCounterStore } = await import(DIST + '/policy/counter-store.js');
const { SqliteBackgroundStore } = await import(DIST + '/policy/background-store.js');
const { PolicyEnforcer } = await import(DIST + '/policy/enforcer.js');
const { createProviderResolver } = await import(DIST + '/proxy/provider-resolver.js');
const db = openPolicyDatabase(FILE);
const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), backgroundStore: new SqliteBackgroundStore(db), now: () => new Date(Number(NOW_MS)) });
enforcer.setIdentity({ signedIn: true });
enforcer.setBundle(JSON.parse(BUNDLE));
const info = { method: 'POST', host: 'api.openai.com', path: '/v1/responses', headers: { 'content-type': 'application/json' } };
const resolution = createProviderResolver().resolve(info);
const parsed = resolution.parse(Buffer.from(JSON.stringify({ model: 'gpt-4.1-mini', background: true, input: 'y'.repeat(400) })));
const verdict = await enforcer.inspector()({ request: parsed.request, body: parsed.body, info, app: 'probe' });
if (verdict.action !== 'allow') throw new Error('refused');
const meter = enforcer.meterResponse(parsed.request, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
meter.push(Buffer.from(JSON.stringify({ id: 'resp_killed', object: 'response', model: 'gpt-4.1-mini', background: true, status: 'queued', output: [], usage: null })));
meter.end();
await meter.finished;
enforcer.settle(parsed.request);
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);
`;

let dir: string | undefined;
let db: PolicyDatabase | undefined;
afterEach(() => {
  db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('work waited for by a process killed with SIGKILL is charged its usage when fetched back by the next one', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-kill-'));
  const file = path.join(dir, 'policy.db');
  const policy = bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
  });
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, DIST, FILE: file, BUNDLE: JSON.stringify(policy), NOW_MS: String(NOW.getTime()) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const ready = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(true); });
    void exited.then(() => resolve(false));
  });
  expect(ready, stderr).toBe(true);
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  db = openPolicyDatabase(file);
  const late: BackgroundCharge[] = [];
  const enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), backgroundStore: new SqliteBackgroundStore(db),
    now: () => NOW, onError: (err) => { throw err; }, onBackgroundCharge: (charged) => late.push(charged),
  });
  enforcer.setIdentity({ signedIn: true });
  enforcer.setBundle(policy);
  enforcer.takeUpBackground();
  const info = { method: 'GET', host: 'api.openai.com', path: '/v1/responses/resp_killed', headers: {} };
  const resolution = createProviderResolver().resolve(info);
  if (resolution.kind !== 'recognized') throw new Error('the fetch was not recognised');
  const parsed = resolution.parse(undefined);
  if (!parsed.ok) throw new Error('the fetch was not parsed');
  expect((await enforcer.inspector()({ request: parsed.request, body: parsed.body, info, app: 'probe' })).action).toBe('allow');
  const meter = enforcer.meterResponse(parsed.request, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify({
    id: 'resp_killed', object: 'response', model: 'gpt-4.1-mini', background: true, status: 'completed', output: [],
    usage: { input_tokens: 800, output_tokens: 400, total_tokens: 1200 },
  })));
  meter?.end();
  await meter?.finished;
  enforcer.settle(parsed.request);
  expect(late).toMatchObject([{ id: 'resp_killed', charge: { usage: { totalTokens: 1200 } } }]);
  expect(enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used).toBe(1200);
  enforcer.releaseBackground();
});
