import { createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startBifrostStandin, type BifrostStandin, type StandinVirtualKeyInput } from '../../support/bifrost-standin.js';
import { startControlServer, type RunningControlServer } from '../../../src/control/server/control-server.js';
import { keyringFileOf, type ControlServerConfigInput } from '../../../src/control/server/config.js';
import type { ControlStore } from '../../../src/control/server/control-store.js';
import { createLogger, silentLogger, type Logger } from '../../../src/log.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const GATEWAY_ADMIN = { username: 'admin', password: 'gateway-admin-password' };

/** Keys the stand-in gateway starts with: Ada's by user, engineering's by group. */
export const ADA_KEY: StandinVirtualKeyInput = {
  id: 'vk-ada', value: 'sk-bf-ada-0001', name: 'ada',
  provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }],
  budgets: [{ max_limit: 50, reset_duration: '1M', current_usage: 3 }],
};
export const ENGINEERING_KEY: StandinVirtualKeyInput = { id: 'vk-eng', value: 'sk-bf-eng-0002', name: 'engineering' };

/** Logs go to stderr only when CONTROL_TEST_LOGS is set, so test output stays readable. */
export function testLogger(): Logger {
  return process.env['CONTROL_TEST_LOGS'] ? createLogger('debug') : silentLogger;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `edge-control-${prefix}-`));
}

export interface ControlFixture {
  dir: string;
  standin: BifrostStandin;
  server: RunningControlServer;
  config: ControlServerConfigInput;
  /** Starts the server again on the same files (after `server.close()`), optionally on the same port. */
  restart(overrides?: Partial<ControlServerConfigInput>): Promise<RunningControlServer>;
  admin(method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

export interface ControlFixtureOptions {
  virtualKeys?: StandinVirtualKeyInput[];
  config?: Partial<ControlServerConfigInput>;
  /** Storage for the first start instead of the config's SQLite file (e.g. one that injects faults). */
  store?: (config: ControlServerConfigInput) => ControlStore;
}

/** A Bifrost stand-in with admin auth, and a control server reading it, on real files in a temp dir. */
export async function startControlFixture(options: ControlFixtureOptions = {}): Promise<ControlFixture> {
  const dir = await tempDir('server');
  const standin = await startBifrostStandin({ virtualKeys: options.virtualKeys ?? [ADA_KEY, ENGINEERING_KEY], adminAuth: GATEWAY_ADMIN });
  const config: ControlServerConfigInput = {
    listen: { port: 0 },
    admin_token: ADMIN_TOKEN,
    allow_virtual_key_enrollment: true,
    gateway: { url: standin.url, admin_auth: { type: 'basic', ...GATEWAY_ADMIN }, poll_interval_seconds: 0.2 },
    assignments: { users: { 'ada@example.com': ['vk-ada'] }, groups: { engineering: ['vk-eng'] } },
    policy: { fail_mode: 'closed', intercept_hosts: ['api.openai.com'], sync: { poll_interval_seconds: 5 } },
    signing_key_file: path.join(dir, 'keys', 'signing-key.pem'),
    storage: { sqlite_path: path.join(dir, 'control.db') },
    push: { heartbeat_seconds: 1 },
    ...options.config,
  };
  let server = await startControlServer(config, { log: testLogger(), ...(options.store ? { store: options.store(config) } : {}) });
  const fixture: ControlFixture = {
    dir,
    standin,
    server,
    config,
    async restart(overrides = {}) {
      server = await startControlServer({ ...config, ...overrides }, { log: testLogger() });
      fixture.server = server;
      return server;
    },
    async admin(method, route, body) {
      const res = await fetch(`${fixture.server.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await fixture.server.close();
      await standin.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A logger that keeps its lines (and echoes them when CONTROL_TEST_LOGS is set). */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const echo = Boolean(process.env['CONTROL_TEST_LOGS']);
  const log = createLogger('debug', (line) => {
    lines.push(line);
    if (echo) process.stderr.write(line);
  });
  return { log, lines };
}

/** The server's signing key ring file. */
export function keyringFile(fixture: ControlFixture): string {
  return keyringFileOf({ signing_key_file: fixture.config.signing_key_file, signing_keyring_file: fixture.config.signing_keyring_file });
}

/** The private key that signs bundles now, read from the server's key ring (to forge bundles in tests). */
export async function activeSigningPrivateKey(fixture: ControlFixture): Promise<KeyObject> {
  const ring = JSON.parse(await fs.readFile(keyringFile(fixture), 'utf8')) as { keys: Array<{ status: string; private_key_pem?: string }> };
  return createPrivateKey(ring.keys.find((k) => k.status === 'active')!.private_key_pem!);
}
