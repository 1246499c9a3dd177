import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { defaultDataDir } from '../../src/config/data-dir.js';
import { LARGEST_RECORD_ROW_BYTES } from '../../src/audit/largest-record.js';

function writeConfig(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-config-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, content);
  return file;
}

describe('loadConfig', () => {
  it('runs in local mode with defaults and no file', () => {
    const config = loadConfig({ env: {} });
    expect(config.mode).toBe('local');
    expect(config.proxy.host).toBe('127.0.0.1');
    expect(config.proxy.port).toBe(8790);
    expect(config.gateway).toBeUndefined();
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it('reads a file Windows tools saved with a UTF-8 byte-order mark (PowerShell 5.1 Set-Content, Notepad)', () => {
    const config = loadConfig({ file: writeConfig('\uFEFF{"proxy":{"port":4321}}'), env: {} });
    expect(config.proxy.port).toBe(4321);
  });

  it('takes a pinned bundle-signing key in PEM form', () => {
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const config = loadConfig({ file: writeConfig(JSON.stringify({ control: { url: 'https://control.example.com', pinnedPublicKeys: [pem] } })), env: {} });
    expect(config.control?.pinnedPublicKeys).toEqual([pem]);
  });

  it('infers gateway mode from a gateway URL and applies precedence file < env < flags', () => {
    const file = writeConfig(JSON.stringify({ gateway: { url: 'https://gw.example.com', virtualKey: 'sk-bf-file' }, proxy: { port: 1000 } }));
    const config = loadConfig({ file, env: { BIFROST_EDGE_PORT: '2000', BIFROST_EDGE_VIRTUAL_KEY: 'sk-bf-env' }, overrides: { proxy: { port: 3000 } } });
    expect(config.mode).toBe('gateway');
    expect(config.gateway?.url).toBe('https://gw.example.com');
    expect(config.gateway?.virtualKey).toBe('sk-bf-env');
    expect(config.proxy.port).toBe(3000);
  });

  it('accepts plain http:// for Edge Control and the gateway on this machine only', () => {
    for (const url of ['http://127.0.0.1:8080', 'http://localhost:9000', 'http://[::1]:7000', 'https://edge-control.example.com']) {
      const config = loadConfig({ env: {}, overrides: { control: { url }, gateway: { url } } });
      expect([config.control?.url, config.gateway?.url]).toEqual([url, url]);
    }
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ['non-loopback listen address', () => loadConfig({ file: writeConfig('{"proxy":{"host":"0.0.0.0"}}'), env: {} }), /proxy\.host \(from config file .*\): must be a loopback address/],
    ['bad gateway URL from env', () => loadConfig({ env: { BIFROST_EDGE_GATEWAY_URL: 'ftp://x' } }), /gateway\.url \(from environment variable BIFROST_EDGE_GATEWAY_URL\): must be an http/],
    ['virtual key without sk-bf-', () => loadConfig({ file: writeConfig('{"gateway":{"url":"http://127.0.0.1:1","virtualKey":"sk-live-1"}}'), env: {} }), /gateway\.virtualKey .*must be a Bifrost virtual key starting with sk-bf-/],
    ['a plain-http Edge Control on the network', () => loadConfig({ file: writeConfig('{"control":{"url":"http://edge-control.example.com"}}'), env: {} }), /control\.url \(from config file .*\): must use https:\/\/ \(plain http:\/\/ only for 127\.0\.0\.1\/localhost\): Edge sends sign-in tokens and virtual keys there, which must never cross a network unencrypted; got http:\/\/edge-control\.example\.com/],
    ['a plain-http gateway on the network', () => loadConfig({ env: { BIFROST_EDGE_GATEWAY_URL: 'http://10.0.0.5:8080' } }), /gateway\.url \(from environment variable BIFROST_EDGE_GATEWAY_URL\): must use https:\/\/ \(plain http:\/\/ only for 127\.0\.0\.1\/localhost\): Edge sends the virtual key and every AI request there/],
    ['unknown field', () => loadConfig({ file: writeConfig('{"proxxy":{}}'), env: {} }), /unknown field\(s\) "proxxy"; remove them or check their spelling/],
    ['a misspelt guardrail setting (it would leave a protection off)', () => loadConfig({ file: writeConfig('{"guardrails":{"customrules":[],"scanResponse":true}}'), env: {} }), /guardrails \(from config file .*\): has unknown field\(s\) "customrules", "scanResponse"; remove them or check their spelling/],
    ['invalid JSON', () => loadConfig({ file: writeConfig('{"mode": '), env: {} }), /is not valid JSON/],
    ['an intercept host written as a URL (it would match nothing)', () => loadConfig({ file: writeConfig('{"interceptHosts":["https://api.openai.com"]}'), env: {} }), /interceptHosts\.0 \(from config file .*\): must be a host name .*write the host name alone/],
    ['an intercept pattern the catalog refuses', () => loadConfig({ file: writeConfig('{"interceptHosts":["api.openai.com","*"]}'), env: {} }), /interceptHosts\.1 \(from config file .*\): must be a host name .*Invalid host pattern "\*": the top-level domain cannot be a wildcard/],
    ['a pinned key pasted without its PEM lines', () => loadConfig({ file: writeConfig(JSON.stringify({ control: { url: 'https://control.example.com', pinnedPublicKeys: ['MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE='] } })), env: {} }), /control\.pinnedPublicKeys\.0 \(from config file .*\): must be a public key in PEM form/],
    ['JSON that is not an object', () => loadConfig({ file: writeConfig('[1]'), env: {} }), /must contain a JSON object/],
    ['missing file', () => loadConfig({ file: '/nonexistent/edge.json', env: {} }), /cannot read config file \/nonexistent\/edge.json \(ENOENT\)/],
    ['non-numeric port in env', () => loadConfig({ env: { BIFROST_EDGE_PORT: 'eighty' } }), /BIFROST_EDGE_PORT="eighty" is not a number/],
    ['gateway mode without a gateway', () => loadConfig({ env: { BIFROST_EDGE_MODE: 'gateway' } }), /no gateway is configured/],
    ['unknown mode', () => loadConfig({ env: { BIFROST_EDGE_MODE: 'turbo' } }), /mode \(from environment variable BIFROST_EDGE_MODE\)/],
  ];
  it.each(bad)('refuses %s with an error naming the field and the fix', (_name, load, message) => {
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });
});

describe('audit.maxBytes', () => {
  // A smaller cap would refuse the largest records Edge writes one by one, each request they audit with them.
  it('below the largest audit record Edge can write is refused, naming that minimum and the fix', () => {
    const load = () => loadConfig({ file: writeConfig(JSON.stringify({ audit: { maxBytes: LARGEST_RECORD_ROW_BYTES - 1 } })), env: {} });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(
      `audit\\.maxBytes \\(from config file .*\\): must be at least ${LARGEST_RECORD_ROW_BYTES} bytes \\(the largest audit record Edge can write, with its storage overhead\\); raise audit\\.maxBytes \\(default 256 MiB\\)`,
    ));
  });

  it('at that minimum is accepted', () => {
    const config = loadConfig({ file: writeConfig(JSON.stringify({ audit: { maxBytes: LARGEST_RECORD_ROW_BYTES } })), env: {} });
    expect(config.audit.maxBytes).toBe(LARGEST_RECORD_ROW_BYTES);
  });
});

describe('defaultDataDir', () => {
  it.each([
    ['darwin', {}, '/Users/ada', '/Users/ada/Library/Application Support/Bifrost Edge'],
    ['win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada', 'C:\\Users\\ada\\AppData\\Roaming\\Bifrost Edge'],
    ['linux', { XDG_DATA_HOME: '/data/xdg' }, '/home/ada', '/data/xdg/bifrost-edge'],
    ['linux', {}, '/home/ada', '/home/ada/.local/share/bifrost-edge'],
    ['linux', { XDG_DATA_HOME: 'relative/ignored' }, '/home/ada', '/home/ada/.local/share/bifrost-edge'],
  ] as const)('%s %j → %s', (platform, env, home, expected) => {
    expect(defaultDataDir(platform, env, home)).toBe(expected);
  });
});
