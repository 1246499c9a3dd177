/**
 * `npm run bench`: Edge against a direct connection and against mitmproxy, in one run, interleaved
 * (modes shuffled within each round) so the noisy 2-core machine affects all three alike.
 * Prints a table and writes bench/results.json. Read it as: "added" = mode minus direct;
 * ratios are mode / direct (lower is better for times, higher for throughput) and Edge / mitmproxy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { coresBusy, cpuMs, freePort, machineCpuTicks, profilingArgs, rssMiB, startJsonLineProcess, stopProcess, tempDir, waitForPort, type Started } from './processes.js';
import { median, percentile, round, shuffle } from './stats.js';
import { highestRateWithin, runOpenLoop, summarizeWindows, type WindowedLatency } from './open-loop.js';
import { buildRequest, RawConnection } from './raw-http-client.js';
import { spawn } from 'node:child_process';
import { startReferenceRelay, type ReferenceRelay } from './reference-relay.js';
import { AGENT_V8_FLAGS } from '../src/agent-v8-flags.js';

type Mode = 'direct' | 'edge' | 'mitmproxy';
const MODES: Mode[] = ['direct', 'edge', 'mitmproxy'];
const AI_HOST = 'api.openai.com';
const NEW_HOSTS = 25;
/**
 * Unmeasured requests per mode before any scenario. V8 compiles a function with its optimizing
 * compiler only after it has run often enough; edge-only runs kept getting faster over the first
 * ~4,000 requests (p99 at 500/s from ~10 to ~3.5 ms). An agent runs for days: the steady state is
 * what a person meets.
 */
const WARM_UP_REQUESTS = 6000;
/** Issue #8's latency targets at 64 clients: added p50 and p99, in ms. */
const TARGET_ADDED_P50_MS = 1;
const TARGET_ADDED_P99_MS = 5;
/**
 * The offered rate the 64-client targets are checked at: 64 clients together sending 500 chat
 * requests a second (each ~8 a second), far beyond what one person's AI tools send and below saturation.
 */
const HEADLINE_RATE = 500;
/**
 * Idle keep-alive of the origin and the undici clients (the raw latency clients never time out): as
 * long as Edge keeps its clients', long enough that no connection expires while the other modes take
 * their turns. First connections are the new-host scenario's subject, not the latency rows'.
 */
const KEEP_ALIVE_MS = 120_000;

const root = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();
const nowMs = (): number => performance.timeOrigin + performance.now();

interface Env {
  upstreamPort: number;
  upstreamCa: string;
  edgeUrl: string;
  edgeCa: string;
  mitmUrl: string;
  mitmCa: string;
  edgePid: number | undefined;
  mitmPid: number | undefined;
  upstreamPid: number | undefined;
}

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // --only=sse,tunnel runs just those scenarios (while working on one figure); the table shows — for the rest.
  const onlyArg = process.argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : undefined;
  const dist = path.join(root, 'dist', 'bench');
  progress('starting upstream');
  const upstream = await startJsonLineProcess<{ port: number; caPath: string }>(process.execPath, [path.join(dist, 'bench-upstream.js')]);
  const upstreamCa = fs.readFileSync(upstream.info.caPath, 'utf8');
  const upstreamUrl = `https://127.0.0.1:${upstream.info.port}`;

  const newHostNames = MODES.flatMap((m) => Array.from({ length: NEW_HOSTS }, (_, i) => `h${i}-${m}.bench.test`));
  const edgeDir = tempDir('edge-bench-');
  fs.writeFileSync(path.join(edgeDir, 'config.json'), JSON.stringify({
    logLevel: 'warn',
    interceptHosts: [AI_HOST, ...newHostNames],
    upstream: { originOverrides: Object.fromEntries([AI_HOST, ...newHostNames].map((h) => [h, upstreamUrl])), caFile: upstream.info.caPath },
  }));
  progress('starting Edge');
  // Launched as its shebang launches it (bin/bifrost-edge.js), with the agent's V8 flags, plus any
  // node options BENCH_EDGE_NODE_ARGS gives for profiling it under this load (README, "Profiling").
  const profiling = profilingArgs(process.env.BENCH_EDGE_NODE_ARGS);
  const edgeOutput = profiling.length > 0 ? fs.createWriteStream(path.join(root, 'bench', 'edge-stdout.log')) : undefined;
  const edge = await startJsonLineProcess<{ proxy: string; ca: string }>(process.execPath, [...AGENT_V8_FLAGS, ...profiling, path.join(root, 'bin', 'bifrost-edge.js'), 'run', '--config', path.join(edgeDir, 'config.json'), '--data-dir', edgeDir, '--port', '0'], {
    ...(edgeOutput ? { onOtherLine: (line: string) => edgeOutput.write(`${line}\n`) } : {}),
  });
  if (profiling.length > 0) progress(`Edge runs with ${profiling.join(' ')}; its other stdout goes to bench/edge-stdout.log`);

  progress('starting mitmproxy');
  const mitm = await startMitmproxy(upstream.info.port, upstream.info.caPath);

  const env: Env = {
    upstreamPort: upstream.info.port, upstreamCa,
    edgeUrl: edge.info.proxy, edgeCa: fs.readFileSync(edge.info.ca, 'utf8'),
    mitmUrl: mitm.info.url, mitmCa: fs.readFileSync(mitm.info.caPath, 'utf8'),
    edgePid: edge.child.pid, mitmPid: mitm.child.pid, upstreamPid: upstream.child.pid,
  };
  const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, quick };
  try {
    await warmUp(env, quick ? 1000 : WARM_UP_REQUESTS);
    const scenarios: Array<[string, () => Promise<unknown>]> = [
      ['latency_c1', () => latencyScenario(env, 1, quick ? 100 : 300, quick ? 3 : 5)],
      // Short windows, many rounds: a stall of this noisy machine then lands on every mode alike.
      ['latency_c64_rates', () => rateSweepScenario(env, 64, quick ? [250, HEADLINE_RATE, 1000] : [250, HEADLINE_RATE, 1000, 2000], 1500, quick ? 2 : 6)],
      ['latency_c64', () => latencyScenario(env, 64, quick ? 640 : 2000, quick ? 3 : 5)],
      ['rss_after_requests', async () => ({ edge_requests_served: requestsSoFar(results), edge_mib: round(rssMiB(env.edgePid), 1), mitmproxy_mib: round(rssMiB(env.mitmPid), 1) })],
      ['sse', () => sseScenario(env, quick ? 2 : 4)],
      ['new_host', () => newHostScenario(env)],
      ['tunnel', () => tunnelScenario(env, quick ? 32 : 128, quick ? 3 : 15)],
      ['concurrent_streams', () => concurrentStreamsScenario(env, quick ? 200 : 1000)],
      ['guardrails', () => optionalBench('guardrails-bench.js', 'benchGuardrailScan')],
      ['guardrail_turns', () => optionalBench('guardrails-bench.js', 'benchConversationTurn')],
      ['audit', () => optionalBench('audit-bench.js', 'benchAuditThroughput')],
    ];
    for (const [name, run] of scenarios) if (!only || only.has(name)) results[name] = await run();
  } finally {
    await Promise.all([stopProcess(edge.child), mitm.stop(), upstream.stop()]);
    edgeOutput?.end();
  }
  const outFile = path.join(root, 'bench', 'results.json');
  fs.writeFileSync(outFile, JSON.stringify({ generated_at: new Date().toISOString(), ...results }, null, 2) + '\n');
  printTable(results);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), outFile)}\n`);
}

/** Requests Edge has served in the latency scenarios so far (the RSS row reports memory after them). */
function requestsSoFar(results: Record<string, unknown>): number {
  const counted = (key: string): number => {
    const scenario = results[key] as { edge?: { n?: number }; rates?: Array<{ modes: { edge?: { n: number } } }> } | undefined;
    return (scenario?.edge?.n ?? 0) + (scenario?.rates ?? []).reduce((sum, r) => sum + (r.modes.edge?.n ?? 0), 0);
  };
  return counted('latency_c1') + counted('latency_c64_rates') + counted('latency_c64');
}

async function startMitmproxy(upstreamPort: number, upstreamCaPath: string): Promise<Started<{ url: string; caPath: string }>> {
  const confdir = tempDir('mitm-bench-');
  const port = await freePort();
  const child = spawn('mitmdump', [
    '--listen-host', '127.0.0.1', '--listen-port', String(port), '-q',
    '--set', `confdir=${confdir}`,
    '--set', 'connection_strategy=lazy',
    // Do not dial the real host to copy its certificate details (it does not resolve here; Edge does not either).
    '--set', 'upstream_cert=false',
    '--set', `ssl_verify_upstream_trusted_ca=${upstreamCaPath}`,
    '--set', 'stream_large_bodies=1',
    '--ignore-hosts', '^127\\.0\\.0\\.1',
    '-s', path.join(root, 'bench', 'mitm-redirect.py'),
  ], { env: { ...process.env, BENCH_UPSTREAM_PORT: String(upstreamPort) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port);
  const caPath = path.join(confdir, 'mitmproxy-ca-cert.pem');
  for (let i = 0; i < 100 && !fs.existsSync(caPath); i++) await new Promise((r) => setTimeout(r, 100));
  return { child, info: { url: `http://127.0.0.1:${port}`, caPath }, stop: () => stopProcess(child) };
}

/** Dispatcher and URL base for a mode, talking to `host` (the AI host, or a fresh one). */
function client(env: Env, mode: Mode, host: string, connections: number): { dispatcher: Dispatcher; base: string } {
  const keepAlive = { keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS };
  if (mode === 'direct') {
    return { dispatcher: new Agent({ connect: { ca: env.upstreamCa, servername: host }, connections, ...keepAlive }), base: `https://127.0.0.1:${env.upstreamPort}` };
  }
  const uri = mode === 'edge' ? env.edgeUrl : env.mitmUrl;
  const ca = mode === 'edge' ? env.edgeCa : env.mitmCa;
  return { dispatcher: new ProxyAgent({ uri, requestTls: { ca }, connections, ...keepAlive }), base: `https://${host}` };
}

const CHAT_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one word.' }] });
const CHAT_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };
const CHAT_REQUEST = buildRequest('POST', AI_HOST, '/v1/chat/completions', CHAT_HEADERS, CHAT_BODY);

/** The latency rows' clients: `count` keep-alive connections of a mode (see raw-http-client.ts for why not undici). */
function rawConnections(env: Env, mode: Mode, count: number): RawConnection[] {
  const viaProxy = mode === 'direct' ? undefined : new URL(mode === 'edge' ? env.edgeUrl : env.mitmUrl);
  return Array.from({ length: count }, () => new RawConnection(viaProxy
    ? { connectHost: viaProxy.hostname, connectPort: Number(viaProxy.port), viaProxy: true, host: AI_HOST, ca: mode === 'edge' ? env.edgeCa : env.mitmCa }
    : { connectHost: '127.0.0.1', connectPort: env.upstreamPort, host: AI_HOST, ca: env.upstreamCa }));
}

async function rawChat(connection: RawConnection, mode: Mode): Promise<void> {
  const answer = await connection.send(CHAT_REQUEST);
  if (answer.status !== 200) throw new Error(`chat via ${mode} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
}

async function chat(dispatcher: Dispatcher, base: string): Promise<void> {
  // A copy: undici's ProxyAgent writes the Host header into the object it is given.
  const res = await request(`${base}/v1/chat/completions`, { dispatcher, method: 'POST', headers: { ...CHAT_HEADERS }, body: CHAT_BODY });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`chat via ${base} answered ${res.statusCode}: ${text.slice(0, 300)}`);
}

async function latencyScenario(env: Env, concurrency: number, perRound: number, rounds: number) {
  progress(`latency at ${concurrency} client(s)`);
  const clients = Object.fromEntries(MODES.map((m) => [m, rawConnections(env, m, concurrency)])) as Record<Mode, RawConnection[]>;
  const samples: Record<Mode, number[]> = { direct: [], edge: [], mitmproxy: [] };
  // CPU the serving process spends per request: the proxy for edge and mitmproxy, the origin for direct.
  const server: Record<Mode, number | undefined> = { direct: env.upstreamPid, edge: env.edgePid, mitmproxy: env.mitmPid };
  const cpu: Record<Mode, number> = { direct: 0, edge: 0, mitmproxy: 0 };
  const busyMs: Record<Mode, number> = { direct: 0, edge: 0, mitmproxy: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const m of shuffle([...MODES])) {
      // Unmeasured: opens the connections, or reopens what expired while the other modes ran (see
      // rateSweepScenario); the run's warm-up already compiled the request path.
      await runLoad(clients[m], m, concurrency, () => {});
      const before = cpuMs(server[m]);
      const t0 = performance.now();
      await runLoad(clients[m], m, perRound, (ms) => samples[m].push(ms));
      busyMs[m] += performance.now() - t0;
      cpu[m] += cpuMs(server[m]) - before;
    }
  }
  for (const m of MODES) for (const c of clients[m]) c.close();
  const perRequest = (m: Mode) => round((cpu[m] / samples[m].length) * 1000, 0);
  const summary = summarize(samples);
  for (const m of MODES) summary[m].requests_per_s = round(samples[m].length / (busyMs[m] / 1000), 0);
  return { ...summary, cpu_us_per_request: { origin: perRequest('direct'), edge: perRequest('edge'), mitmproxy: perRequest('mitmproxy') } };
}

/**
 * 64 keep-alive clients (one connection each) at fixed offered rates, lowest first, modes shuffled
 * within each round. A proxy that falls far behind at one rate is not driven at the higher ones.
 */
async function rateSweepScenario(env: Env, clientCount: number, rates: number[], durationMs: number, rounds: number) {
  progress(`latency at ${clientCount} clients, offered ${rates.join(' / ')} requests/s`);
  const clients = Object.fromEntries(MODES.map((m) => [m, rawConnections(env, m, clientCount)])) as Record<Mode, RawConnection[]>;
  const active = new Set<Mode>(MODES);
  const perRate: Array<{ rate: number; modes: Partial<Record<Mode, WindowedLatency>> }> = [];
  for (const rate of rates) {
    const windows: Record<Mode, number[][]> = { direct: [], edge: [], mitmproxy: [] };
    for (let r = 0; r < rounds; r++) {
      for (const m of shuffle([...active])) {
        // Keep-alive clients, kept alive: a mode's last window ended seconds ago while the other modes
        // ran. Had its connections expired (Node's and undici's defaults are 4-5 s), the window would
        // open with 64 TLS handshakes (two per request through a proxy) whose queue became its p99,
        // and the closes would land in another mode's window. Hence long idle timeouts on every side
        // (KEEP_ALIVE_MS; Edge keeps its clients' as long) and one unmeasured request per client that
        // reopens any a server closed anyway.
        await Promise.all(clients[m].map((c) => rawChat(c, m)));
        // Let the last window's stragglers (an overloaded proxy still draining, GC) settle first.
        await new Promise((resolve) => setTimeout(resolve, 250));
        const window: number[] = [];
        await runOpenLoop({ senders: clients[m].map((c) => () => rawChat(c, m)), ratePerSecond: rate, durationMs, record: (ms) => window.push(ms) });
        windows[m].push(window);
      }
    }
    const modes: Partial<Record<Mode, WindowedLatency>> = {};
    for (const m of active) modes[m] = summarizeWindows(windows[m]);
    perRate.push({ rate, modes });
    progress(`  ${rate}/s: ${[...active].map((m) => `${m} p50 ${modes[m]!.p50_ms} p99 ${modes[m]!.window_p99_ms} (pooled ${modes[m]!.p99_ms}) ms`).join(', ')}`);
    // Far behind (a backlog, not a delay): higher rates would only take minutes to drain.
    for (const m of ['edge', 'mitmproxy'] as const) if (active.has(m) && modes[m]!.p50_ms - modes.direct!.p50_ms > 50) active.delete(m);
  }
  for (const m of MODES) for (const c of clients[m]) c.close();
  const added = (m: 'edge' | 'mitmproxy') => perRate.flatMap(({ rate, modes }) => (modes[m] && modes.direct
    ? [{ ratePerSecond: rate, addedP50Ms: round(modes[m].p50_ms - modes.direct.p50_ms), addedP99Ms: round(modes[m].window_p99_ms - modes.direct.window_p99_ms) }]
    : []));
  const edgeAdded = added('edge');
  const mitmproxyAdded = added('mitmproxy');
  const headline = perRate.find((p) => p.rate === HEADLINE_RATE)?.modes ?? {};
  return {
    clients: clientCount, duration_ms_per_run: durationMs, rounds,
    rates: perRate,
    edge_added: edgeAdded, mitmproxy_added: mitmproxyAdded,
    headline_rate: HEADLINE_RATE,
    headline: { direct: headline.direct, edge: headline.edge, mitmproxy: headline.mitmproxy },
    // Capacity within target: the highest offered rate still within both added-latency targets.
    highest_rate_within_target: {
      edge: highestRateWithin(edgeAdded, TARGET_ADDED_P50_MS, TARGET_ADDED_P99_MS),
      mitmproxy: highestRateWithin(mitmproxyAdded, TARGET_ADDED_P50_MS, TARGET_ADDED_P99_MS),
    },
  };
}

async function warmUp(env: Env, requestsPerMode: number): Promise<void> {
  progress(`warm-up: ${requestsPerMode} unmeasured requests per mode`);
  for (const m of MODES) {
    const connections = rawConnections(env, m, 64);
    await runLoad(connections, m, requestsPerMode, () => {});
    for (const c of connections) c.close();
  }
}

/** Closed loop: each connection sends its next request the moment its answer is in, `total` in all. */
async function runLoad(connections: RawConnection[], mode: Mode, total: number, record: (ms: number) => void): Promise<void> {
  let remaining = total;
  const worker = async (connection: RawConnection) => {
    while (remaining-- > 0) {
      const t0 = performance.now();
      await rawChat(connection, mode);
      record(performance.now() - t0);
    }
  };
  await Promise.all(connections.map(worker));
}

function summarize(samples: Record<Mode, number[]>) {
  const stat = (m: Mode): { p50_ms: number; p99_ms: number; n: number; requests_per_s?: number } => ({ p50_ms: round(median(samples[m])), p99_ms: round(percentile(samples[m], 99)), n: samples[m].length });
  const direct = stat('direct');
  const edge = stat('edge');
  const mitm = stat('mitmproxy');
  return {
    direct, edge, mitmproxy: mitm,
    edge_added_p50_ms: round(edge.p50_ms - direct.p50_ms), edge_added_p99_ms: round(edge.p99_ms - direct.p99_ms),
    mitmproxy_added_p50_ms: round(mitm.p50_ms - direct.p50_ms), mitmproxy_added_p99_ms: round(mitm.p99_ms - direct.p99_ms),
  };
}

async function sseScenario(env: Env, rounds: number) {
  progress('SSE streams (200 chunks)');
  const delays: Record<Mode, number[]> = { direct: [], edge: [], mitmproxy: [] };
  const ttfb: Record<Mode, number[]> = { direct: [], edge: [], mitmproxy: [] };
  const clients = Object.fromEntries(MODES.map((m) => [m, client(env, m, AI_HOST, 4)])) as Record<Mode, ReturnType<typeof client>>;
  for (const m of MODES) await streamOnce(clients[m], 5, 1, () => {}, () => {});
  for (let r = 0; r < rounds; r++) {
    for (const m of shuffle([...MODES])) {
      await Promise.all(Array.from({ length: 2 }, () => streamOnce(clients[m], 200, 5, (d) => delays[m].push(d), (t) => ttfb[m].push(t))));
    }
  }
  // A median of a handful of first bytes swings with one scheduler hiccup: add short streams, interleaved.
  for (let r = 0; r < rounds * 8; r++) {
    for (const m of shuffle([...MODES])) await streamOnce(clients[m], 3, 1, () => {}, (t) => ttfb[m].push(t));
  }
  await Promise.all(MODES.map((m) => clients[m].dispatcher.close()));
  const chunk = (m: Mode) => ({ median_ms: round(median(delays[m])), p99_ms: round(percentile(delays[m], 99)), ttfb_ms: round(median(ttfb[m])) });
  const d = chunk('direct');
  const e = chunk('edge');
  const x = chunk('mitmproxy');
  return {
    direct: d, edge: e, mitmproxy: x,
    edge_added_chunk_delay_ms: round(e.median_ms - d.median_ms), mitmproxy_added_chunk_delay_ms: round(x.median_ms - d.median_ms),
    edge_added_ttfb_ms: round(e.ttfb_ms - d.ttfb_ms), mitmproxy_added_ttfb_ms: round(x.ttfb_ms - d.ttfb_ms),
  };
}

/** Reads one SSE stream; every event carries its send time, so delay = arrival − send. */
async function streamOnce(c: { dispatcher: Dispatcher; base: string }, chunks: number, interval: number, onDelay: (ms: number) => void, onTtfb: (ms: number) => void): Promise<void> {
  const started = nowMs();
  const res = await request(`${c.base}/v1/chat/completions?chunks=${chunks}&interval=${interval}`, {
    dispatcher: c.dispatcher, method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] }),
  });
  if (res.statusCode !== 200) throw new Error(`stream via ${c.base} answered ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
  let buffer = '';
  let first = true;
  for await (const piece of res.body) {
    const arrived = nowMs();
    if (first) {
      onTtfb(arrived - started);
      first = false;
    }
    buffer += piece.toString();
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.startsWith('data: ') ? event.slice(6) : '';
      if (data && data !== '[DONE]') onDelay(arrived - (JSON.parse(data) as { t: number }).t);
    }
  }
}

async function newHostScenario(env: Env) {
  progress('first request to never-seen hosts');
  const samples: Record<Mode, number[]> = { direct: [], edge: [], mitmproxy: [] };
  for (let i = 0; i < NEW_HOSTS; i++) {
    for (const m of shuffle([...MODES])) {
      const c = client(env, m, `h${i}-${m}.bench.test`, 1);
      const t0 = performance.now();
      await chat(c.dispatcher, c.base);
      samples[m].push(performance.now() - t0);
      await c.dispatcher.close();
    }
  }
  const s = (m: Mode) => round(median(samples[m]));
  return { direct_ms: s('direct'), edge_ms: s('edge'), mitmproxy_ms: s('mitmproxy'), edge_added_ms: round(s('edge') - s('direct')), mitmproxy_added_ms: round(s('mitmproxy') - s('direct')) };
}

/** A path a tunnel download takes: straight to the origin, or through one of the relays. */
type TunnelPath = Mode | 'reference';

async function tunnelScenario(env: Env, mib: number, rounds: number) {
  progress(`blind tunnel throughput (${mib} MiB downloads, ${rounds} rounds)`);
  // The reference relay (C, Edge's reads and writes without a runtime) says what any relay process
  // reaches here: whether a shortfall is Edge's or the machine's. It runs only for this scenario.
  const reference = await startReferenceRelay(path.join(root, 'bench', 'reference-relay.c'));
  const relayed = 'unavailable' in reference ? undefined : reference;
  const unavailable = 'unavailable' in reference ? reference.unavailable : undefined;
  if (unavailable) progress(`reference relay not run: ${unavailable}`);
  try {
    const paths: TunnelPath[] = relayed ? [...MODES, 'reference'] : [...MODES];
    const rates = new Map<TunnelPath, number[]>(paths.map((p) => [p, []]));
    const busy = new Map<TunnelPath, number[]>(paths.map((p) => [p, []]));
    const relayCpu: Record<Mode, number> = { direct: 0, edge: 0, mitmproxy: 0 };
    const via = (p: TunnelPath) => tunnelRoute(env, p, relayed);
    // The run-wide warm-up exercised chat requests, not bulk bodies: the first download through each
    // path ran at half speed while the client's and the relays' JIT caught up, so one goes unmeasured.
    for (const p of paths) await downloadThroughTunnel(env, via(p), mib);
    for (let r = 0; r < rounds; r++) {
      for (const p of shuffle([...paths])) {
        const { mibPerSecond, relayCpuMsPerMib, cores } = await downloadThroughTunnel(env, via(p), mib);
        rates.get(p)!.push(mibPerSecond);
        busy.get(p)!.push(cores);
        if (p !== 'reference') relayCpu[p] += relayCpuMsPerMib / rounds;
      }
    }
    // The processes share two cores, and the machine's speed drifts between rounds: a ratio is
    // taken within each round (downloads seconds apart) and the median of those is the figure.
    const direct = rates.get('direct')!;
    const byRound = (p: TunnelPath) => rates.get(p)!.map((rate, i) => round(rate / direct[i]!));
    const ratio = (p: TunnelPath) => round(median(byRound(p)));
    const s = (p: TunnelPath) => round(median(rates.get(p)!), 1);
    const cores = (p: TunnelPath) => round(median(busy.get(p)!), 2);
    return {
      direct_mib_s: s('direct'), edge_mib_s: s('edge'), mitmproxy_mib_s: s('mitmproxy'), edge_vs_direct: ratio('edge'), mitmproxy_vs_direct: ratio('mitmproxy'),
      edge_vs_direct_by_round: byRound('edge'),
      reference: relayed
        ? {
          mib_s: s('reference'), vs_direct: ratio('reference'), vs_direct_by_round: byRound('reference'),
          // Edge against the reference within each round: 1 means Edge relays as fast as C does here.
          edge_vs_reference: round(median(rates.get('edge')!.map((rate, i) => rate / rates.get('reference')![i]!))),
        }
        : { unavailable },
      // The relay's own CPU per MiB: on a 2-core machine it is taken from the client and the origin.
      cpu_ms_per_mib: { edge: round(relayCpu.edge, 2), mitmproxy: round(relayCpu.mitmproxy, 2) },
      // Whether the machine had room for a relay at all: a direct download that keeps every core busy
      // (the client decrypting, the origin encrypting) leaves a relay only what it takes from them.
      cores_busy: { direct: cores('direct'), edge: cores('edge'), mitmproxy: cores('mitmproxy'), ...(relayed ? { reference: cores('reference') } : {}), of: os.cpus().length },
    };
  } finally {
    await relayed?.stop();
  }
}

/** The proxy a tunnel download goes through (none for direct) and the process whose CPU it costs. */
function tunnelRoute(env: Env, p: TunnelPath, reference: ReferenceRelay | undefined): { proxyUrl?: string; pid?: number } {
  if (p === 'edge') return { proxyUrl: env.edgeUrl, pid: env.edgePid };
  if (p === 'mitmproxy') return { proxyUrl: env.mitmUrl, pid: env.mitmPid };
  // The reference relay forks a process per tunnel: its CPU is not the listener's, so none is counted.
  if (p === 'reference') return { proxyUrl: reference!.info.proxy };
  return {};
}

/** One download of `mib` MiB from the origin, directly or through a proxy's blind tunnel. */
async function downloadThroughTunnel(env: Env, route: { proxyUrl?: string; pid?: number }, mib: number): Promise<{ mibPerSecond: number; relayCpuMsPerMib: number; cores: number }> {
  // 127.0.0.1 is not an AI host: Edge tunnels it, and mitmproxy is told to ignore it.
  const dispatcher = route.proxyUrl === undefined
    ? new Agent({ connect: { ca: env.upstreamCa } })
    : new ProxyAgent({ uri: route.proxyUrl, requestTls: { ca: env.upstreamCa } });
  const { pid } = route;
  try {
    const cpuBefore = cpuMs(pid);
    const machineBefore = machineCpuTicks();
    const t0 = performance.now();
    const res = await request(`https://127.0.0.1:${env.upstreamPort}/blob?mb=${mib}`, { dispatcher });
    let bytes = 0;
    for await (const piece of res.body) bytes += piece.length;
    const seconds = (performance.now() - t0) / 1000;
    const mibReceived = bytes / (1024 * 1024);
    return { mibPerSecond: mibReceived / seconds, relayCpuMsPerMib: pid === undefined ? 0 : (cpuMs(pid) - cpuBefore) / mibReceived, cores: coresBusy(machineBefore, machineCpuTicks()) };
  } finally {
    await dispatcher.close();
  }
}

async function concurrentStreamsScenario(env: Env, streams: number) {
  progress(`${streams} concurrent SSE streams per proxy`);
  const out: Record<string, number> = {};
  for (const m of ['edge', 'mitmproxy'] as const) {
    const c = client(env, m, AI_HOST, streams);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(m === 'edge' ? env.edgePid : env.mitmPid)); }, 100);
    const results = await Promise.allSettled(Array.from({ length: streams }, () => streamOnce(c, 20, 100, () => {}, () => {})));
    clearInterval(sampler);
    out[`${m}_peak_rss_mib`] = round(peak, 1);
    out[`${m}_failed_streams`] = results.filter((r) => r.status === 'rejected').length;
    await c.dispatcher.close();
  }
  return { streams, ...out };
}

async function optionalBench(file: string, exportName: string): Promise<unknown> {
  const url = new URL(`./${file}`, import.meta.url);
  if (!fs.existsSync(fileURLToPath(url))) return { skipped: `${file} not built` };
  progress(`${exportName}`);
  const mod = (await import(url.href)) as Record<string, () => Promise<unknown>>;
  return mod[exportName]!();
}

function printTable(r: Record<string, unknown>): void {
  const get = (p: string): number => p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r) as number;
  const rows: Array<[string, string, number, number, number, string, boolean | undefined]> = [];
  const add = (name: string, unit: string, d: string, e: string, x: string, target: string, pass: (edge: number, direct: number, mitm: number) => boolean | undefined) => {
    const dv = get(d), ev = get(e), xv = get(x);
    rows.push([name, unit, dv, ev, xv, target, Number.isFinite(ev) ? pass(ev, dv, xv) : undefined]);
  };
  add('latency p50, 1 client', 'ms', 'latency_c1.direct.p50_ms', 'latency_c1.edge.p50_ms', 'latency_c1.mitmproxy.p50_ms', 'faster than mitmproxy', (e, _d, x) => e < x);
  const atRate = `64 clients at ${HEADLINE_RATE.toLocaleString('en-US')}/s`;
  add(`latency p50, ${atRate}`, 'ms', 'latency_c64_rates.headline.direct.p50_ms', 'latency_c64_rates.headline.edge.p50_ms', 'latency_c64_rates.headline.mitmproxy.p50_ms', `added ≤ ${TARGET_ADDED_P50_MS} ms`, (e, d) => e - d <= TARGET_ADDED_P50_MS);
  add(`latency p99, ${atRate}`, 'ms', 'latency_c64_rates.headline.direct.window_p99_ms', 'latency_c64_rates.headline.edge.window_p99_ms', 'latency_c64_rates.headline.mitmproxy.window_p99_ms', `added ≤ ${TARGET_ADDED_P99_MS} ms`, (e, d) => e - d <= TARGET_ADDED_P99_MS);
  add(`  p99 pooled, ${atRate}`, 'ms', 'latency_c64_rates.headline.direct.p99_ms', 'latency_c64_rates.headline.edge.p99_ms', 'latency_c64_rates.headline.mitmproxy.p99_ms', 'reported', () => undefined);
  add('highest rate within both', 'req/s', 'latency_c64_rates.none', 'latency_c64_rates.highest_rate_within_target.edge', 'latency_c64_rates.highest_rate_within_target.mitmproxy', 'above mitmproxy', (e, _d, x) => e > x);
  add('saturated: throughput, 64', 'req/s', 'latency_c64.direct.requests_per_s', 'latency_c64.edge.requests_per_s', 'latency_c64.mitmproxy.requests_per_s', 'above mitmproxy', (e, _d, x) => e > x);
  add('saturated: latency p50, 64', 'ms', 'latency_c64.direct.p50_ms', 'latency_c64.edge.p50_ms', 'latency_c64.mitmproxy.p50_ms', 'faster than mitmproxy', (e, _d, x) => e < x);
  add('saturated: latency p99, 64', 'ms', 'latency_c64.direct.p99_ms', 'latency_c64.edge.p99_ms', 'latency_c64.mitmproxy.p99_ms', 'faster than mitmproxy', (e, _d, x) => e < x);
  add('CPU per request, 64 clients', 'µs', 'latency_c64.cpu_us_per_request.origin', 'latency_c64.cpu_us_per_request.edge', 'latency_c64.cpu_us_per_request.mitmproxy', 'below mitmproxy', (e, _d, x) => e < x);
  add('SSE chunk delay (median)', 'ms', 'sse.direct.median_ms', 'sse.edge.median_ms', 'sse.mitmproxy.median_ms', 'added ≤ 1 ms', (e, d) => e - d <= 1);
  add('SSE time to first byte', 'ms', 'sse.direct.ttfb_ms', 'sse.edge.ttfb_ms', 'sse.mitmproxy.ttfb_ms', 'faster than mitmproxy', (e, _d, x) => e < x);
  add('first request, new host', 'ms', 'new_host.direct_ms', 'new_host.edge_ms', 'new_host.mitmproxy_ms', 'added ≤ 20 ms', (e, d) => e - d <= 20);
  add('blind tunnel throughput', 'MiB/s', 'tunnel.direct_mib_s', 'tunnel.edge_mib_s', 'tunnel.mitmproxy_mib_s', 'reported', () => undefined);
  // Judged on the ratio within each round (median of rounds), not on the two medians: see tunnelScenario.
  add('  tunnel / direct, by round', 'ratio', 'tunnel.none', 'tunnel.edge_vs_direct', 'tunnel.mitmproxy_vs_direct', '≥ 0.9', (e) => e >= 0.9);
  // The C reference relay's figures sit in the Edge column: what any relay process reaches here.
  add('  C reference relay / direct', 'ratio', 'tunnel.none', 'tunnel.reference.vs_direct', 'tunnel.none', 'reported', () => undefined);
  add('  Edge / C reference relay', 'ratio', 'tunnel.none', 'tunnel.reference.edge_vs_reference', 'tunnel.none', 'reported', () => undefined);
  add('relay CPU per MiB, tunnel', 'ms', 'tunnel.none', 'tunnel.cpu_ms_per_mib.edge', 'tunnel.cpu_ms_per_mib.mitmproxy', 'below mitmproxy', (e, _d, x) => e < x);
  add('  cores busy, downloading', 'cores', 'tunnel.cores_busy.direct', 'tunnel.cores_busy.edge', 'tunnel.cores_busy.mitmproxy', 'reported', () => undefined);
  // Memory is reported (issue #8, item 6), not a speed target: compare, do not pass or fail.
  add('RSS after requests', 'MiB', 'rss_after_requests.none', 'rss_after_requests.edge_mib', 'rss_after_requests.mitmproxy_mib', 'reported', () => undefined);
  add('peak RSS, concurrent streams', 'MiB', 'concurrent_streams.none', 'concurrent_streams.edge_peak_rss_mib', 'concurrent_streams.mitmproxy_peak_rss_mib', 'reported', () => undefined);
  const fmt = (n: number) => (Number.isFinite(n) ? String(round(n, 2)) : '—');
  const header = ['scenario', 'unit', 'direct', 'edge', 'mitmproxy', 'edge/direct', 'edge/mitm', 'target', 'met'];
  const lines = rows.map(([name, unit, d, e, x, target, ok]) => [name, unit, fmt(d), fmt(e), fmt(x), fmt(e / d), fmt(e / x), target, ok === undefined ? '—' : ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(line).join('\n')}\n`);
  for (const key of ['guardrails', 'guardrail_turns', 'audit'] as const) process.stdout.write(`\n${key}: ${JSON.stringify(r[key])}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
