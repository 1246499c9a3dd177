import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openPolicyStream } from '../../src/control/client/control-api.js';
import { PolicyStreamFollower, type PolicyStreamFollowerOptions } from '../../src/control/client/policy-stream-follower.js';
import { Sleeper } from '../../src/control/client/sleeper.js';
import { createLogger } from '../../src/log.js';
import { testLogger } from './support/control-fixture.js';

/** The push stream follower against real HTTP servers on 127.0.0.1 that misbehave in one way each. */
const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Records the backoff delays asked for and waits only a few ms, stopping the follower after `limit` of them. */
class RecordingSleeper extends Sleeper {
  readonly delays: number[] = [];
  follower: PolicyStreamFollower | undefined;

  constructor(private readonly limit: number) {
    super();
  }

  override sleep(ms: number): Promise<void> {
    this.delays.push(ms);
    if (this.delays.length >= this.limit) this.follower?.stop();
    return super.sleep(5);
  }
}

function follow(url: string, sleeper: RecordingSleeper, options: Partial<PolicyStreamFollowerOptions> = {}): { follower: PolicyStreamFollower; opens: () => number; disconnects: () => number } {
  let opens = 0;
  let disconnects = 0;
  const follower = new PolicyStreamFollower({
    open: (signal) => {
      opens++;
      return openPolicyStream(url, 'edc_test-credential', signal);
    },
    onPolicyEvent: () => undefined,
    onDisconnected: () => {
      disconnects++;
    },
    backoff: { initialMs: 100, maxMs: 3_200 },
    idleMs: 10_000,
    sleeper,
    log: testLogger(),
    ...options,
  });
  sleeper.follower = follower;
  return { follower, opens: () => opens, disconnects: () => disconnects };
}

function sseHead(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': connected\n\n');
}

describe('a push stream that opens and closes at once', () => {
  it('reconnects (and catches up) with a growing delay instead of every second', async () => {
    const url = await serve((_req, res) => {
      sseHead(res);
      res.end();
    });
    const sleeper = new RecordingSleeper(8);
    const { follower, opens, disconnects } = follow(url, sleeper);
    expect(await follower.run()).toEqual({ reason: 'stopped' });
    expect(opens()).toBe(8);
    expect(disconnects()).toBe(8);
    // Equal jitter: attempt n waits between half and all of min(maxMs, initialMs·2ⁿ).
    sleeper.delays.forEach((delay, attempt) => {
      const ceiling = Math.min(3_200, 100 * 2 ** attempt);
      expect(delay, `attempt ${attempt}`).toBeGreaterThanOrEqual(ceiling / 2);
    });
    expect(sleeper.delays.at(-1)).toBeGreaterThanOrEqual(1_600);
  });

  it('starts the backoff over after a stream that stayed up', async () => {
    const url = await serve((_req, res) => {
      sseHead(res);
      setTimeout(() => res.end(), 150);
    });
    const sleeper = new RecordingSleeper(4);
    const { follower } = follow(url, sleeper, { stableMs: 100 });
    await follower.run();
    for (const delay of sleeper.delays) expect(delay).toBeLessThanOrEqual(100);
  });
});

describe('a push stream whose server never sends response headers', () => {
  it('gives up after the idle time and reconnects', async () => {
    const url = await serve(() => undefined);
    const sleeper = new RecordingSleeper(3);
    const { follower, opens } = follow(url, sleeper, { idleMs: 200 });
    const started = Date.now();
    expect(await follower.run()).toEqual({ reason: 'stopped' });
    expect(opens()).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('a push stream that never ends a line', () => {
  it('is closed once the line outgrows the event limit, with a log saying why, and reconnected', async () => {
    const closedAfterBytes: number[] = [];
    const url = await serve((_req, res) => {
      sseHead(res);
      res.write('event: policy\ndata: ');
      let written = 0;
      const chunk = 'x'.repeat(64 * 1024);
      // 16 MiB of one line, then the end: a follower that buffers it all only notices the end.
      const pump = (): void => {
        while (written < 16 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => closedAfterBytes.push(written));
      pump();
    });
    const lines: string[] = [];
    const sleeper = new RecordingSleeper(2);
    const { follower, opens } = follow(url, sleeper, { log: createLogger('warn', (line) => lines.push(line)) });
    expect(await follower.run()).toEqual({ reason: 'stopped' });
    expect(opens()).toBe(2);
    const closing = lines.filter((line) => line.includes('closing the policy push stream'));
    expect(closing, lines.join('')).toHaveLength(2);
    expect(closing[0]).toContain('longer than 1048576 characters');
    // The server saw the connection go away before it had sent everything (some MiB sit in socket buffers).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closedAfterBytes).toHaveLength(2);
    for (const bytes of closedAfterBytes) expect(bytes).toBeLessThan(16 * 1024 * 1024);
  });
});
