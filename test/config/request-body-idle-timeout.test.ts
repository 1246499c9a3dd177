import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { REQUEST_BODY_IDLE_TIMEOUT_MS } from '../../src/proxy/request-body.js';

/** proxy.requestBodyIdleTimeoutMs: how long a request body (JSON or upload) may stop arriving before a 408. */

function writeConfig(proxy: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-config-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ proxy }));
  return file;
}

describe('proxy.requestBodyIdleTimeoutMs', () => {
  it('is two minutes by default', () => {
    expect(loadConfig({ env: {} }).proxy.requestBodyIdleTimeoutMs).toBe(REQUEST_BODY_IDLE_TIMEOUT_MS);
    expect(REQUEST_BODY_IDLE_TIMEOUT_MS).toBe(120_000);
  });

  it('takes a bound of a second or more from the file', () => {
    expect(loadConfig({ file: writeConfig({ requestBodyIdleTimeoutMs: 1000 }), env: {} }).proxy.requestBodyIdleTimeoutMs).toBe(1000);
    expect(loadConfig({ file: writeConfig({ requestBodyIdleTimeoutMs: 600_000 }), env: {} }).proxy.requestBodyIdleTimeoutMs).toBe(600_000);
  });

  it.each([
    ['under a second', 999, /proxy\.requestBodyIdleTimeoutMs .*1000/],
    ['zero (no bound)', 0, /proxy\.requestBodyIdleTimeoutMs/],
    ['a fraction', 1500.5, /proxy\.requestBodyIdleTimeoutMs/],
    ['a string', '120000', /proxy\.requestBodyIdleTimeoutMs/],
  ])('refuses %s', (_name, value, message) => {
    const load = () => loadConfig({ file: writeConfig({ requestBodyIdleTimeoutMs: value }), env: {} });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });
});
