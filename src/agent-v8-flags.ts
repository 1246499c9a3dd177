/**
 * V8 flags the headless agent runs with (bin/bifrost-edge.js's shebang, scripts/start.sh, the benchmark).
 *
 * `--max-semi-space-size=32` (MiB; Node's default is 16): each request leaves short-lived objects (parsed
 * bodies, TLS and HTTP buffers), and every 16 MiB of them costs a young-generation collection of ~2.5 ms
 * during which no request moves. At 500 requests/s those pauses were what p99 latency measured: in
 * alternating runs at 64 clients, added p99 at 500/s was +2.7 and +3.7 ms with 32 MiB against +4.1, +4.6
 * and +5.3 ms with the default, and p50 lower too. It costs at most 32 MiB more young generation, held only while
 * requests allocate that fast.
 *
 * The flag must be given when the process starts (V8 sizes its heap then; v8.setFlagsFromString later has
 * no effect), so it is in the launchers, and this list is what the tests check them against. The Electron
 * app's main process starts without it.
 */
export const AGENT_V8_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
