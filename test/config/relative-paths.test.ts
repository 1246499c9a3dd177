import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { loadEffectiveConfig } from '../../src/config/managed-config-sources.js';
import { TEST_MACHINE_CONFIG_ENV } from '../../src/config/managed-config-locations.js';
import type { SyncCommandRunner } from '../../src/config/system-command.js';
import { InstallerConfigError, installerSettings } from '../../src/installers/installer-settings.js';
import { EDGE_BIN } from '../support/edge-process.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-relative-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const POLICY = { schema: 'bifrost-edge.policy/v1', version: 1, issued_at: '2026-12-01T00:00:00Z', fail_mode: 'open', virtual_keys: [] };
const RELATIVE = { dataDir: 'data', policyFile: 'policy.json', gateway: { url: 'https://bifrost.example.com', caFile: 'certs/gateway.pem' }, upstream: { caFile: '../upstream.pem' } };

/** A folder holding config.json with `config`; returns both. */
function configFolder(config: unknown): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return { dir, file };
}

describe('relative paths in the configuration', () => {
  it('in a config file count from its folder, not from the directory Edge started in', () => {
    const { dir, file } = configFolder(RELATIVE);
    const config = loadConfig({ file, env: {} });
    expect(config.dataDir).toBe(path.join(dir, 'data'));
    expect(config.policyFile).toBe(path.join(dir, 'policy.json'));
    expect(config.gateway?.caFile).toBe(path.join(dir, 'certs', 'gateway.pem'));
    expect(config.upstream.caFile).toBe(path.join(path.dirname(dir), 'upstream.pem'));
  });

  it('from flags and environment variables count from the current directory; absolute paths stay as written', () => {
    const { file } = configFolder({ policyFile: '/srv/policy.json', upstream: { caFile: '/srv/ca.pem' } });
    const config = loadConfig({ file, env: { BIFROST_EDGE_DATA_DIR: 'env-data' }, overrides: { gateway: { url: 'https://bifrost.example.com', caFile: 'flag.pem' } } });
    expect(config.dataDir).toBe(path.resolve('env-data'));
    expect(config.gateway?.caFile).toBe(path.resolve('flag.pem'));
    expect(config.policyFile).toBe('/srv/policy.json');
    expect(config.upstream.caFile).toBe('/srv/ca.pem');
  });

  it('in the machine-wide managed file count from its own folder', () => {
    const { dir, file } = configFolder({ policyFile: 'policy.json', upstream: { caFile: 'ca.pem' } });
    const { config } = loadEffectiveConfig({ platform: 'linux', env: { [TEST_MACHINE_CONFIG_ENV]: file }, exists: () => false, readFile: (f) => fs.readFileSync(f, 'utf8') });
    expect(config.policyFile).toBe(path.join(dir, 'policy.json'));
    expect(config.upstream.caFile).toBe(path.join(dir, 'ca.pem'));
  });

  it('in managed preferences or the registry, which have no folder, are refused naming the field and the fix', () => {
    const regOutput = `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Bifrost\\Edge\r\n    Config    REG_SZ    {"policyFile":"policy.json","upstream":{"caFile":"C:\\\\certs\\\\ca.pem"}}\r\n\r\n`;
    const run: SyncCommandRunner = () => ({ exitCode: 0, stdout: regOutput, stderr: '' });
    let error: unknown;
    try {
      loadEffectiveConfig({ platform: 'win32', arch: 'x64', env: { SystemRoot: 'C:\\Windows', ProgramData: 'C:\\ProgramData' }, run, exists: () => false, readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('sets policyFile "policy.json": a relative path');
    expect(message).toContain('Set the absolute path the file has on this machine.');
    // The Windows path is absolute on Windows even though this test runs elsewhere.
    expect(message).not.toContain('upstream.caFile');
  });

  it('installers refuse them: the configuration they write is read from another folder on every device', () => {
    let error: unknown;
    try {
      installerSettings({ policyFile: 'policy.json', gateway: { url: 'https://bifrost.example.com', caFile: 'C:\\certs\\gw.pem' }, upstream: { caFile: 'certs/up.pem' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InstallerConfigError);
    const message = (error as Error).message;
    expect(message).toContain('- policyFile: "policy.json" is a relative path');
    expect(message).toContain('- upstream.caFile: "certs/up.pem" is a relative path');
    expect(message).toContain('give the absolute path the file has on every device');
    expect(message).not.toContain('gateway.caFile');
    expect(installerSettings({ policyFile: '/etc/bifrost-edge/policy.json' }).edgeConfig).toEqual({ policyFile: '/etc/bifrost-edge/policy.json' });
  });

  it('bifrost-edge run started from / reads the policy file next to its config file', async () => {
    const { dir, file } = configFolder({ policyFile: 'policy.json', metrics: { port: null } });
    fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(POLICY));
    const child = spawn(process.execPath, [EDGE_BIN, 'run', '--config', file, '--data-dir', path.join(dir, 'data'), '--port', '0', '--log-level', 'silent'], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); if (stdout.includes('"event":"ready"')) child.kill('SIGTERM'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(killer);
    expect({ ready: stdout.includes('"event":"ready"'), stderr }).toEqual({ ready: true, stderr: '' });
    expect(code).toBe(0);
  });
});
