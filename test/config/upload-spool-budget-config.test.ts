import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

/** proxy.maxUploadSpoolBytes: the disk all uploads spooled at once may take together, never less than one upload. */

function writeConfig(proxy: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-config-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ proxy }));
  return file;
}

const GiB = 1024 * 1024 * 1024;

describe('proxy.maxUploadSpoolBytes', () => {
  it('is left to the default (the larger of 2 GiB and proxy.maxUploadBytes) when absent', () => {
    expect(loadConfig({ env: {} }).proxy.maxUploadSpoolBytes).toBeUndefined();
  });

  it('takes a budget of at least proxy.maxUploadBytes', () => {
    expect(loadConfig({ file: writeConfig({ maxUploadSpoolBytes: 4 * GiB }), env: {} }).proxy.maxUploadSpoolBytes).toBe(4 * GiB);
    expect(loadConfig({ file: writeConfig({ maxUploadBytes: 1024, maxUploadSpoolBytes: 1024 }), env: {} }).proxy.maxUploadSpoolBytes).toBe(1024);
  });

  it.each([
    ['below proxy.maxUploadBytes', { maxUploadBytes: 1024 * 1024, maxUploadSpoolBytes: 1024 }, /proxy\.maxUploadSpoolBytes.*must be at least proxy\.maxUploadBytes \(1048576\)/],
    ['below the default proxy.maxUploadBytes (512 MiB)', { maxUploadSpoolBytes: 256 * 1024 * 1024 }, /proxy\.maxUploadSpoolBytes.*must be at least proxy\.maxUploadBytes/],
    ['zero', { maxUploadSpoolBytes: 0 }, /proxy\.maxUploadSpoolBytes/],
    ['a fraction', { maxUploadSpoolBytes: 1.5 * GiB + 0.5 }, /proxy\.maxUploadSpoolBytes/],
    ['a string', { maxUploadSpoolBytes: '2147483648' }, /proxy\.maxUploadSpoolBytes/],
  ])('refuses %s', (_name, proxy, message) => {
    const load = () => loadConfig({ file: writeConfig(proxy), env: {} });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });
});
