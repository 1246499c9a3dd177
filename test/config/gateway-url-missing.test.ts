import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../../src/config/load-config.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function writeConfig(value: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-gateway-url-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

function configError(options: LoadConfigOptions): string {
  try {
    loadConfig(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('gateway settings without a gateway URL', () => {
  it('a virtual key from BIFROST_EDGE_VIRTUAL_KEY: says a key needs a gateway URL, where to give one, and names the variable', () => {
    const message = configError({ env: { BIFROST_EDGE_VIRTUAL_KEY: 'sk-bf-demo-0000' } });
    expect(message).toContain('- gateway.url (from environment variable BIFROST_EDGE_VIRTUAL_KEY): missing: a virtual key (gateway.virtualKey) needs the URL of the Bifrost gateway it is for');
    expect(message).toContain('--gateway URL, BIFROST_EDGE_GATEWAY_URL or gateway.url in the config file');
    expect(message).toContain('or unset BIFROST_EDGE_VIRTUAL_KEY');
    expect(message).not.toContain('expected string, received undefined');
  });

  it('another gateway setting in a config file: names the file and the setting', () => {
    const file = writeConfig({ gateway: { caFile: '/etc/corp-ca.pem' } });
    const message = configError({ file, env: {} });
    expect(message).toContain(`- gateway.url (from config file ${file}): missing: gateway.caFile is set, but the gateway settings need the URL of the Bifrost gateway`);
    expect(message).toContain('or remove gateway.caFile from config file');
  });

  it('a gateway URL from the environment makes the same key valid', () => {
    const config = loadConfig({ env: { BIFROST_EDGE_VIRTUAL_KEY: 'sk-bf-demo-0000', BIFROST_EDGE_GATEWAY_URL: 'https://bifrost.example.com' } });
    expect(config.mode).toBe('gateway');
  });
});
