import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load-config.js';
import { loadDesktopConfig, machineConfigPath } from '../../src/tray/managed-config.js';

/** The desktop app resolves its configuration like `bifrost-edge run` (test/config/managed-config-sources.test.ts has the details). */

const MACHINE_FILE = '/etc/bifrost-edge/config.json';

function writeConfig(value: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-tray-config-')), 'config.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

/** A file system with only `contents`. */
function machine(contents: Record<string, string>) {
  return {
    platform: 'linux' as const,
    exists: (file: string) => file in contents,
    readFile: (file: string) => {
      if (!(file in contents)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return contents[file]!;
    },
  };
}

describe('desktop app configuration', () => {
  it.each([
    { platform: 'darwin' as const, env: {}, path: '/Library/Application Support/Bifrost Edge/config.json' },
    { platform: 'win32' as const, env: { ProgramData: 'D:\\ProgramData' }, path: 'D:\\ProgramData\\Bifrost Edge\\config.json' },
    { platform: 'win32' as const, env: {}, path: 'C:\\ProgramData\\Bifrost Edge\\config.json' },
    { platform: 'linux' as const, env: {}, path: MACHINE_FILE },
  ])('machine-wide file on $platform', ({ platform, env, path }) => {
    expect(machineConfigPath(platform, env)).toBe(path);
  });

  it('BIFROST_EDGE_CONFIG is the configuration of an unmanaged machine', () => {
    const file = writeConfig({ proxy: { port: 9300 } });
    const loaded = loadDesktopConfig({ ...machine({}), env: { BIFROST_EDGE_CONFIG: file } });
    expect(loaded.config.proxy.port).toBe(9300);
    expect(loaded.origin).toBe(`config file ${file} (environment variable BIFROST_EDGE_CONFIG)`);
  });

  it('on a managed machine BIFROST_EDGE_CONFIG cannot change what IT manages', () => {
    const file = writeConfig({ gateway: { url: 'https://personal.example.com' }, proxy: { port: 9301 } });
    const loaded = loadDesktopConfig({ ...machine({ [MACHINE_FILE]: '{"gateway":{"url":"https://bifrost.example.com"}}' }), env: { BIFROST_EDGE_CONFIG: file } });
    expect(loaded.config).toMatchObject({ mode: 'gateway', gateway: { url: 'https://bifrost.example.com' }, proxy: { port: 9301 } });
    expect(loaded.ignored.map((setting) => setting.field)).toEqual(['gateway.url']);
  });

  it('defaults (local mode) when nothing is configured', () => {
    const loaded = loadDesktopConfig({ ...machine({}), env: {} });
    expect(loaded.config.mode).toBe('local');
    expect(loaded.origin).toBe(`no managed configuration (${MACHINE_FILE} not found): defaults and BIFROST_EDGE_* variables`);
  });

  it('a broken managed configuration is an error, not defaults', () => {
    expect(() => loadDesktopConfig({ ...machine({ [MACHINE_FILE]: '{"mode":"turbo"}' }), env: {} })).toThrow(ConfigError);
    expect(() => loadDesktopConfig({ ...machine({ [MACHINE_FILE]: '{"mode":"turbo"}' }), env: {} })).toThrow(/- mode \(from machine-wide managed configuration \/etc\/bifrost-edge\/config\.json\)/);
  });
});
