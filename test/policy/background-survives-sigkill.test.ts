import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { ANSWER_WRITE_STEP_TOKENS } from '../../src/policy/background-responses.js';
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

/**
 * Starts a background response through the real enforcer, polls it in progress once for each answer length in
 * POLLS (tokens, none by default), says `ready`, then waits to be killed.
 */
const CHILD = `
const { DIST, FILE, BUNDLE, NOW_MS, POLLS = '[]' } = process.env;
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
for (const outputTokens of JSON.parse(POLLS)) {
  const poll = { method: 'GET', host: 'api.openai.com', path: '/v1/responses/resp_killed', headers: {} };
  const fetched = createProviderResolver().resolve(poll).parse(undefined);
  if ((await enforcer.inspector()({ request: fetched.request, body: fetched.body, info: poll, app: 'probe' })).action !== 'allow') throw new Error('poll refused');
  const pollMeter = enforcer.meterResponse(fetched.request, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  pollMeter.push(Buffer.from(JSON.stringify({
    id: 'resp_killed', object: 'response', model: 'gpt-4.1-mini', background: true, status: 'in_progress', usage: null,
    output: [{ type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text: 'a'.repeat(4 * outputTokens), annotations: [] }] }],
  })));
  pollMeter.end();
  await pollMeter.finished;
  enforcer.settle(fetched.request);
}
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);
`;

let dir: string | undefined;
let db: PolicyDatabase | undefined;
afterEach(() => {
  db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const policy = bundle({}, {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
  rate_limit: { token_max_limit: 1e9, token_reset_duration: '1d' },
});

/** Runs CHILD over a new policy.db (polling `polls`), kills it with SIGKILL once ready; the file's path. */
async function killedChild(polls: number[] = []): Promise<string> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-kill-'));
  const file = path.join(dir, 'policy.db');
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, DIST, FILE: file, BUNDLE: JSON.stringify(policy), NOW_MS: String(NOW.getTime()), POLLS: JSON.stringify(polls) },
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
  return file;
}

/** The enforcer of the next start over `file`, the work the killed one left taken up. */
function nextEnforcer(file: string, late: BackgroundCharge[]): PolicyEnforcer {
  db = openPolicyDatabase(file);
  const enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), backgroundStore: new SqliteBackgroundStore(db),
    now: () => NOW, onError: (err) => { throw err; }, onBackgroundCharge: (charged) => late.push(charged),
  });
  enforcer.setIdentity({ signedIn: true });
  enforcer.setBundle(policy);
  enforcer.takeUpBackground();
  return enforcer;
}

/** A fetch of the killed process's response (`GET` it, or `POST` its cancel) answered `answer`. */
async function fetchBack(enforcer: PolicyEnforcer, method: 'GET' | 'POST', target: string, answer: unknown): Promise<void> {
  const info = { method, host: 'api.openai.com', path: target, headers: {} };
  const resolution = createProviderResolver().resolve(info);
  if (resolution.kind !== 'recognized') throw new Error('the fetch was not recognised');
  const parsed = resolution.parse(undefined);
  if (!parsed.ok) throw new Error('the fetch was not parsed');
  expect((await enforcer.inspector()({ request: parsed.request, body: parsed.body, info, app: 'probe' })).action).toBe('allow');
  const meter = enforcer.meterResponse(parsed.request, { contentType: 'application/json', contentEncoding: undefined, status: 200 });
  meter?.push(Buffer.from(JSON.stringify(answer)));
  meter?.end();
  await meter?.finished;
  enforcer.settle(parsed.request);
}

const final = (status: string, usage: unknown) => ({ id: 'resp_killed', object: 'response', model: 'gpt-4.1-mini', background: true, status, output: [], usage });
const tokensUsed = (enforcer: PolicyEnforcer) => enforcer.status().rateLimits.find((r) => r.metric === 'tokens')?.used;

it('work waited for by a process killed with SIGKILL is charged its usage when fetched back by the next one', async () => {
  const file = await killedChild();
  const late: BackgroundCharge[] = [];
  const enforcer = nextEnforcer(file, late);
  await fetchBack(enforcer, 'GET', '/v1/responses/resp_killed', final('completed', { input_tokens: 800, output_tokens: 400, total_tokens: 1200 }));
  expect(late).toMatchObject([{ id: 'resp_killed', charge: { usage: { totalTokens: 1200 } } }]);
  expect(tokensUsed(enforcer)).toBe(1200);
  enforcer.releaseBackground();
});

it('killed between two throttled writes of a poll\'s growing answer: the row is short of the answer seen by less than the step, and the usage still trues it up', async () => {
  // 300 answer tokens (not written: the write interval is not over), 1,500 (grown past the step: written), 1,800 (not written).
  const file = await killedChild([300, 1500, 1800]);
  const late: BackgroundCharge[] = [];
  const enforcer = nextEnforcer(file, late);
  // Cancelled, reporting no usage: the prompt (100 tokens, held all along) and the answer the row kept.
  await fetchBack(enforcer, 'POST', '/v1/responses/resp_killed/cancel', final('cancelled', null));
  expect(late).toMatchObject([{ id: 'resp_killed', charge: { estimated: true, usage: { inputTokens: 100, outputTokens: 1500 } } }]);
  expect(1800 - late[0]!.charge.usage.outputTokens).toBeLessThan(ANSWER_WRITE_STEP_TOKENS);
  // The usage fetched later charges what the run used, not the estimate.
  await fetchBack(enforcer, 'GET', '/v1/responses/resp_killed', final('completed', { input_tokens: 100, output_tokens: 2000, total_tokens: 2100 }));
  expect(late[1]).toMatchObject({ id: 'resp_killed', trueUp: { cause: 'usage_reported', difference: { totalTokens: 500 } } });
  expect(tokensUsed(enforcer)).toBe(2100);
  enforcer.releaseBackground();
});
