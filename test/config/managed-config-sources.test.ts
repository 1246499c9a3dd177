import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { LARGEST_RECORD_ROW_BYTES } from '../../src/audit/largest-record.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { PLUTIL } from '../../src/config/macos-managed-preferences.js';
import { findManagedSource, loadEffectiveConfig, type LoadEffectiveConfigOptions } from '../../src/config/managed-config-sources.js';
import { TEST_MACHINE_CONFIG_ENV } from '../../src/config/managed-config-locations.js';
import { firstNonJsonValue } from '../../src/config/plist-non-json-value.js';
import { findRegistryValue, listsSubkey } from '../../src/config/reg-query-output.js';
import type { CommandResult, SyncCommandRunner } from '../../src/config/system-command.js';
import { installerSettings } from '../../src/installers/installer-settings.js';
import { MACOS_MANAGED_PREFERENCES_PLIST } from '../../src/installers/managed-config.js';
import { edgeProfile } from '../../src/installers/mobileconfig.js';
import { renderPlist } from '../../src/installers/plist.js';
import { windowsInstallerFiles } from '../../src/installers/windows.js';
import { EDGE_BIN } from '../support/edge-process.js';
import { startBifrostStandin } from '../support/bifrost-standin.js';
import { readPowerShellVerbatimString } from '../installers/support.js';
import { materializeManagedPreferences, plutilStandIn } from './plutil-stand-in.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-managed-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function writeJson(value: unknown): string {
  const file = path.join(tempDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

// ---- what the system tools print ----------------------------------------------------------------

const REG = 'C:\\Windows\\System32\\reg.exe';
const KEY = 'HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge';
const FULL_KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Bifrost\\Edge';

/** `reg query <key> /v Config` on success: CRLF lines, four-space separators, a trailing blank line. */
const regValueOutput = (data: string, type = 'REG_SZ', name = 'Config') => `\r\n${FULL_KEY}\r\n    ${name}    ${type}    ${data}\r\n\r\n`;
const REG_NOT_FOUND: CommandResult = { exitCode: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n' };
const REG_ACCESS_DENIED: CommandResult = { exitCode: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' };
/** The same failure on a German Windows: reg.exe's messages are translated, its listings are not. */
const REG_NOT_FOUND_GERMAN: CommandResult = { exitCode: 1, stdout: '', stderr: 'FEHLER: Der angegebene Registrierungsschlüssel bzw. Wert wurde nicht gefunden.\r\n' };

/** A fake reg.exe: answers `query <key> [/v Config] /reg:64` from a table keyed by the arguments. */
function fakeReg(answers: Record<string, CommandResult>): SyncCommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = (argv: readonly string[]) => {
    calls.push([...argv]);
    expect(argv[0]).toBe(REG);
    expect(argv[1]).toBe('query');
    expect(argv.at(-1)).toBe('/reg:64');
    return answers[argv.slice(2, -1).join(' ')] ?? { exitCode: 1, stdout: '', stderr: `no answer for ${argv.join(' ')}` };
  };
  return Object.assign(run, { calls });
}

const noCommands: SyncCommandRunner = (argv) => {
  throw new Error(`unexpected command ${argv.join(' ')}`);
};

/** Files as the fake file system has them; everything else is missing (ENOENT). */
function files(contents: Record<string, string>) {
  return {
    exists: (file: string) => file in contents,
    readFile: (file: string) => {
      const text = contents[file];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return text;
    },
  };
}

/** plutil stand-in for a materialized plist given as XML (for values the generator never writes: <date>). */
function plutilFor(xml: string): SyncCommandRunner & { calls: string[][] } {
  const dir = tempDir();
  const file = path.join(dir, 'com.bifrost.edge.plist');
  fs.writeFileSync(file, renderLikeApple(xml));
  return plutilStandIn(file);
}
const renderLikeApple = (dictBody: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n${dictBody}</dict>\n</plist>\n`;

const MAC_PLIST = MACOS_MANAGED_PREFERENCES_PLIST;
const MAC_MACHINE_FILE = '/Library/Application Support/Bifrost Edge/config.json';
const WIN_MACHINE_FILE = 'C:\\ProgramData\\Bifrost Edge\\config.json';
const LINUX_MACHINE_FILE = '/etc/bifrost-edge/config.json';
const GATEWAY = { gateway: { url: 'https://bifrost.example.com' } };
const OTHER_GATEWAY = { gateway: { url: 'https://other.example.com' } };
const winEnv = { SystemRoot: 'C:\\Windows', ProgramData: 'C:\\ProgramData' };

function load(options: LoadEffectiveConfigOptions) {
  return loadEffectiveConfig({ env: {}, arch: 'x64', ...options });
}

// ---- precedence -------------------------------------------------------------------------------

/** One row of the precedence table: what the computer holds, and the source whose gateway URL wins. */
interface PrecedenceCase {
  name: string;
  platform: NodeJS.Platform;
  run: () => SyncCommandRunner;
  fs: Record<string, string>;
  env: Record<string, string>;
  url: string;
  origin: string;
}

describe('which managed source applies', () => {
  it.each<PrecedenceCase>([
    {
      name: 'macOS: managed preferences win over the machine-wide file',
      platform: 'darwin',
      run: () => plutilFor('\t<key>gateway</key>\n\t<dict>\n\t\t<key>url</key>\n\t\t<string>https://bifrost.example.com</string>\n\t</dict>\n'),
      fs: { [MAC_PLIST]: 'binary plist', [MAC_MACHINE_FILE]: JSON.stringify(OTHER_GATEWAY) },
      env: {},
      url: 'https://bifrost.example.com',
      origin: `managed preferences com.bifrost.edge (${MAC_PLIST})`,
    },
    {
      name: 'macOS: the machine-wide file when there is no profile',
      platform: 'darwin',
      run: () => noCommands,
      fs: { [MAC_MACHINE_FILE]: JSON.stringify(GATEWAY) },
      env: {},
      url: 'https://bifrost.example.com',
      origin: `machine-wide managed configuration ${MAC_MACHINE_FILE}`,
    },
    {
      name: 'Windows: the policy registry value wins over the machine-wide file',
      platform: 'win32',
      run: () => fakeReg({ [`${KEY} /v Config`]: { exitCode: 0, stdout: regValueOutput(JSON.stringify(GATEWAY)), stderr: '' } }),
      fs: { [WIN_MACHINE_FILE]: JSON.stringify(OTHER_GATEWAY) },
      env: winEnv,
      url: 'https://bifrost.example.com',
      origin: `registry value ${KEY}\\Config`,
    },
    {
      name: 'Windows: the machine-wide file under %ProgramData% when the key is missing',
      platform: 'win32',
      run: () => fakeReg({ [`${KEY} /v Config`]: REG_NOT_FOUND }),
      fs: { [WIN_MACHINE_FILE]: JSON.stringify(GATEWAY) },
      env: winEnv,
      url: 'https://bifrost.example.com',
      origin: `machine-wide managed configuration ${WIN_MACHINE_FILE}`,
    },
    {
      name: 'Linux: the machine-wide file',
      platform: 'linux',
      run: () => noCommands,
      fs: { [LINUX_MACHINE_FILE]: JSON.stringify(GATEWAY) },
      env: {},
      url: 'https://bifrost.example.com',
      origin: `machine-wide managed configuration ${LINUX_MACHINE_FILE}`,
    },
  ])('$name', ({ platform, run, fs: contents, env, url, origin }) => {
    const loaded = load({ platform, run: run(), env, ...files(contents) });
    expect(loaded.config.gateway?.url).toBe(url);
    expect(loaded.config.mode).toBe('gateway');
    expect(loaded.origin).toBe(origin);
  });

  it.each([
    { platform: 'darwin' as const, run: noCommands, env: {}, checked: `${MAC_PLIST}, ${MAC_MACHINE_FILE}` },
    { platform: 'win32' as const, run: fakeReg({ [`${KEY} /v Config`]: REG_NOT_FOUND }), env: winEnv, checked: `registry value ${KEY}\\Config, ${WIN_MACHINE_FILE}` },
    { platform: 'linux' as const, run: noCommands, env: {}, checked: LINUX_MACHINE_FILE },
  ])('$platform with nothing managed: defaults (local mode), saying where it looked', ({ platform, run, env, checked }) => {
    const loaded = load({ platform, run, env, ...files({}) });
    expect(loaded.config.mode).toBe('local');
    expect(loaded.ignored).toEqual([]);
    expect(loaded.origin).toBe(`no managed configuration (${checked} not found): defaults and BIFROST_EDGE_* variables`);
  });

  it('an explicit file (--config, else BIFROST_EDGE_CONFIG) is the configuration on an unmanaged machine', () => {
    const flagFile = writeJson({ proxy: { port: 9001 } });
    const envFile = writeJson({ proxy: { port: 9002 } });
    const viaFlag = load({ platform: 'linux', configFile: flagFile, env: { BIFROST_EDGE_CONFIG: envFile }, ...files({}) });
    expect(viaFlag.config.proxy.port).toBe(9001);
    expect(viaFlag.origin).toBe(`config file ${flagFile} (--config)`);
    const viaEnv = load({ platform: 'linux', env: { BIFROST_EDGE_CONFIG: envFile }, ...files({}) });
    expect(viaEnv.config.proxy.port).toBe(9002);
    expect(viaEnv.origin).toBe(`config file ${envFile} (environment variable BIFROST_EDGE_CONFIG)`);
  });

  it('an explicit file on a managed machine fills in open fields only', () => {
    const userFile = writeJson({ gateway: { url: 'https://personal.example.com', virtualKey: 'sk-bf-mine' }, mode: 'local', proxy: { port: 9003 } });
    const loaded = load({ platform: 'linux', configFile: userFile, ...files({ [LINUX_MACHINE_FILE]: JSON.stringify(GATEWAY) }) });
    expect(loaded.config).toMatchObject({ mode: 'gateway', gateway: { url: 'https://bifrost.example.com', virtualKey: 'sk-bf-mine' }, proxy: { port: 9003 } });
    expect(loaded.origin).toBe(`machine-wide managed configuration ${LINUX_MACHINE_FILE}, over config file ${userFile} (--config)`);
    expect(loaded.ignored).toEqual([
      { field: 'gateway.url', from: `config file ${userFile}`, managedBy: `machine-wide managed configuration ${LINUX_MACHINE_FILE}` },
      { field: 'mode', from: `config file ${userFile}`, managedBy: `machine-wide managed configuration ${LINUX_MACHINE_FILE}`, reason: GOVERNANCE },
    ]);
  });

  it('the machine-wide file given with --config (the Linux systemd unit) is the managed source, not a second layer', () => {
    const dir = tempDir();
    const machineFile = path.join(dir, 'config.json');
    fs.writeFileSync(machineFile, JSON.stringify(GATEWAY));
    // The unit's own file, found through the test hook since /etc is not ours to write here.
    const loaded = load({ platform: 'linux', configFile: machineFile, env: { [TEST_MACHINE_CONFIG_ENV]: machineFile, BIFROST_EDGE_MODE: 'local' } });
    expect(loaded.origin).toBe(`machine-wide managed configuration ${machineFile} (test hook ${TEST_MACHINE_CONFIG_ENV})`);
    expect(loaded.config.mode).toBe('gateway');
  });
});

// ---- env overrides and flags on a managed machine ---------------------------------------------------

const GOVERNANCE = expect.stringContaining('it decides whether AI traffic is governed, so on a managed machine only the managed configuration sets it');

describe('settings IT manages cannot be overridden', () => {
  const managedFs = files({ [LINUX_MACHINE_FILE]: JSON.stringify({ ...GATEWAY, guardrails: { pii: ['email'] }, logLevel: 'warn' }) });
  const managedBy = `machine-wide managed configuration ${LINUX_MACHINE_FILE}`;

  it('BIFROST_EDGE_* variables for managed fields are dropped and reported; the others still apply', () => {
    const loaded = load({
      platform: 'linux',
      env: { BIFROST_EDGE_MODE: 'local', BIFROST_EDGE_GATEWAY_URL: 'http://127.0.0.1:1', BIFROST_EDGE_LOG_LEVEL: 'debug', BIFROST_EDGE_VIRTUAL_KEY: 'sk-bf-employee', BIFROST_EDGE_PORT: '9100' },
      ...managedFs,
    });
    expect(loaded.config).toMatchObject({ mode: 'gateway', gateway: { url: 'https://bifrost.example.com', virtualKey: 'sk-bf-employee' }, logLevel: 'warn', proxy: { port: 9100 } });
    expect(loaded.ignored).toEqual([
      { field: 'mode', from: 'environment variable BIFROST_EDGE_MODE', managedBy, reason: GOVERNANCE },
      { field: 'logLevel', from: 'environment variable BIFROST_EDGE_LOG_LEVEL', managedBy },
      { field: 'gateway.url', from: 'environment variable BIFROST_EDGE_GATEWAY_URL', managedBy },
    ]);
  });

  it('flags for managed fields are dropped too; a value equal to the managed one is not reported', () => {
    const loaded = load({ platform: 'linux', overrides: { gateway: { url: 'https://bifrost.example.com' }, mode: 'passthrough', logLevel: 'error' }, ...managedFs });
    expect(loaded.config.mode).toBe('gateway');
    expect(loaded.config.logLevel).toBe('warn');
    expect(loaded.ignored.map((setting) => `${setting.field} from ${setting.from}`)).toEqual(['mode from command-line option', 'logLevel from command-line option']);
  });

  it('a managed array replaces the whole field; what IT left out of the guardrails keeps its default', () => {
    const userFile = writeJson({ interceptHosts: ['example.org'], guardrails: { pii: false, enabled: false } });
    const loaded = load({ platform: 'linux', configFile: userFile, ...files({ [LINUX_MACHINE_FILE]: JSON.stringify({ interceptHosts: ['api.openai.com'], guardrails: { pii: ['email'] } }) }) });
    expect(loaded.config.interceptHosts).toEqual(['api.openai.com']);
    expect(loaded.config.guardrails).toEqual(loadConfig({ env: {}, file: writeJson({ guardrails: { pii: ['email'] } }) }).guardrails);
    expect(loaded.ignored.map((setting) => [setting.field, setting.reason === undefined ? 'managed' : 'governance'])).toEqual([
      ['interceptHosts', 'managed'],
      ['guardrails.pii', 'managed'],
      ['guardrails.enabled', 'governance'],
    ]);
  });

  it('fields that decide governance stay at their defaults on a managed machine even when IT did not set them', () => {
    const userFile = writeJson({
      gateway: { url: 'https://personal.example.com', virtualKey: 'sk-bf-mine' },
      interceptHosts: [],
      guardrails: { enabled: false },
      policyFile: '/tmp/permissive.json',
      control: { url: 'https://control.personal.example.com' },
      auth: { issuer: 'https://login.personal.example.com', clientId: 'me' },
      upstream: { originOverrides: { 'api.openai.com': 'https://127.0.0.1:9443' }, caFile: '/tmp/ca.pem' },
      proxy: { port: 9200 },
      logLevel: 'debug',
    });
    // IT manages only the log retention here: the machine is still managed.
    const loaded = load({ platform: 'linux', configFile: userFile, env: { BIFROST_EDGE_VIRTUAL_KEY: 'sk-bf-env' }, ...files({ [LINUX_MACHINE_FILE]: '{"audit":{"maxBytes":1048576}}' }) });
    const unmanaged = loadConfig({ env: {} });
    expect(loaded.config).toMatchObject({ mode: 'local', proxy: { port: 9200 }, logLevel: 'debug', upstream: { originOverrides: {}, caFile: '/tmp/ca.pem' }, audit: { maxBytes: 1048576 } });
    expect(loaded.config.gateway).toBeUndefined();
    expect(loaded.config.interceptHosts).toBeUndefined();
    expect(loaded.config.guardrails).toEqual(unmanaged.guardrails);
    expect(loaded.config).not.toHaveProperty('policyFile');
    expect(loaded.config).not.toHaveProperty('control');
    expect(loaded.config).not.toHaveProperty('auth');
    expect(loaded.ignored.map((setting) => `${setting.field} from ${setting.from}`)).toEqual([
      `gateway.url from config file ${userFile}`,
      'gateway.virtualKey from environment variable BIFROST_EDGE_VIRTUAL_KEY',
      `interceptHosts from config file ${userFile}`,
      `guardrails.enabled from config file ${userFile}`,
      `policyFile from config file ${userFile}`,
      `control.url from config file ${userFile}`,
      `auth.issuer from config file ${userFile}`,
      `auth.clientId from config file ${userFile}`,
      `upstream.originOverrides.api.openai.com from config file ${userFile}`,
    ]);
    expect(loaded.ignored.every((setting) => setting.reason !== undefined)).toBe(true);
  });

  it('a managed mode of local is respected: the environment cannot switch it to gateway', () => {
    const loaded = load({ platform: 'linux', env: { BIFROST_EDGE_MODE: 'gateway', BIFROST_EDGE_GATEWAY_URL: 'https://bifrost.example.com' }, ...files({ [LINUX_MACHINE_FILE]: '{"mode":"local"}' }) });
    expect(loaded.config.mode).toBe('local');
    expect(loaded.ignored.map((setting) => setting.field)).toEqual(['mode', 'gateway.url']);
  });
});

// ---- missing vs broken --------------------------------------------------------------------------

function expectConfigError(run: () => unknown, ...patterns: RegExp[]): string {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as Error).message;
  for (const pattern of patterns) expect(message).toMatch(pattern);
  return message;
}

const NEVER_DROPPED = /Edge does not start while its managed configuration is broken/;

describe('a managed source that exists but is broken stops Edge', () => {
  it('macOS: a <date> value names the file, the field and the type, and says how to fix the profile', () => {
    const run = plutilFor('\t<key>gateway</key>\n\t<dict>\n\t\t<key>url</key>\n\t\t<string>https://bifrost.example.com</string>\n\t\t<key>caFile</key>\n\t\t<date>2024-01-01T00:00:00Z</date>\n\t</dict>\n');
    expectConfigError(
      () => load({ platform: 'darwin', run, ...files({ [MAC_PLIST]: '' }) }),
      /cannot read managed preferences com\.bifrost\.edge \(\/Library\/Managed Preferences\/com\.bifrost\.edge\.plist\): gateway\.caFile is a <date> value/,
      /plutil: \/Library\/Managed Preferences\/com\.bifrost\.edge\.plist: invalid object in plist for destination format/,
      /Fix the Bifrost Edge configuration profile in your MDM/,
      NEVER_DROPPED,
    );
    expect(run.calls.map((call) => call[2])).toEqual(['json', 'xml1']);
  });

  it('macOS: a <data> value inside an array is located by index', () => {
    const run = plutilFor('\t<key>interceptHosts</key>\n\t<array>\n\t\t<string>api.openai.com</string>\n\t\t<data>AAEC</data>\n\t</array>\n');
    expectConfigError(() => load({ platform: 'darwin', run, ...files({ [MAC_PLIST]: '' }) }), /interceptHosts\[1\] is a <data> value/);
  });

  it('macOS: a plist plutil cannot read at all', () => {
    const run: SyncCommandRunner = () => ({ exitCode: 1, stdout: '', stderr: `${MAC_PLIST}: Property List error: Unexpected character b at line 1 / JSON error: JSON text did not start with array or object` });
    expectConfigError(() => load({ platform: 'darwin', run, ...files({ [MAC_PLIST]: '' }) }), /cannot read managed preferences com\.bifrost\.edge .* with \/usr\/bin\/plutil \(.*Unexpected character b/, NEVER_DROPPED);
  });

  it('macOS: an invalid field names the field, the managed preferences and the fix', () => {
    const run = plutilFor('\t<key>gateway</key>\n\t<dict>\n\t\t<key>url</key>\n\t\t<string>ftp://bifrost.example.com</string>\n\t</dict>\n');
    expectConfigError(
      () => load({ platform: 'darwin', run, ...files({ [MAC_PLIST]: '' }) }),
      /- gateway\.url \(from managed preferences com\.bifrost\.edge \(\/Library\/Managed Preferences\/com\.bifrost\.edge\.plist\)\): must be an http/,
      /\nFix the Bifrost Edge configuration profile in your MDM/,
    );
  });

  it.each([
    { name: 'access denied', answer: REG_ACCESS_DENIED, message: /cannot read registry value HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge\\Config: access is denied \(ERROR: Access is denied\.\)\. .*give Users read access/ },
    { name: 'a REG_DWORD', answer: { exitCode: 0, stdout: regValueOutput('0x1', 'REG_DWORD'), stderr: '' }, message: /registry value .*\\Config is a REG_DWORD; it must be a REG_SZ holding the configuration as JSON\. Fix the Config value/ },
    { name: 'a REG_MULTI_SZ', answer: { exitCode: 0, stdout: regValueOutput('{"mode":\\0"local"}', 'REG_MULTI_SZ'), stderr: '' }, message: /is a REG_MULTI_SZ/ },
    { name: 'an empty value', answer: { exitCode: 0, stdout: `\r\n${FULL_KEY}\r\n    Config    REG_SZ    \r\n\r\n`, stderr: '' }, message: /\\Config is empty/ },
    { name: 'JSON that is not valid', answer: { exitCode: 0, stdout: regValueOutput('{"gateway": '), stderr: '' }, message: /registry value HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge\\Config is not valid JSON/ },
    { name: 'JSON that is not an object', answer: { exitCode: 0, stdout: regValueOutput('["a"]'), stderr: '' }, message: /\\Config must hold a JSON object/ },
    { name: 'characters the console code page lost', answer: { exitCode: 0, stdout: regValueOutput('{"identity":{"device":"caf\uFFFD"}}'), stderr: '' }, message: /could not print in this console's code page.*\\u escapes/ },
    { name: 'an invalid field', answer: { exitCode: 0, stdout: regValueOutput('{"proxy":{"host":"0.0.0.0"}}'), stderr: '' }, message: /- proxy\.host \(from registry value HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge\\Config\): must be a loopback address[\s\S]*\nFix the Config value \(REG_SZ/ },
    { name: 'reg.exe missing', answer: { exitCode: 127, stdout: '', stderr: `${REG}: command not found` }, message: /Edge needs reg\.exe/ },
  ])('Windows: $name', ({ answer, message }) => {
    expectConfigError(() => load({ platform: 'win32', env: winEnv, run: fakeReg({ [`${KEY} /v Config`]: answer }), ...files({}) }), message, NEVER_DROPPED);
  });

  it.each([
    { name: 'an unreadable file', error: 'EACCES', message: /cannot read machine-wide managed configuration \/etc\/bifrost-edge\/config\.json \(EACCES\): it must be readable by every user/ },
    { name: 'a directory', error: 'EISDIR', message: /cannot read machine-wide managed configuration \/etc\/bifrost-edge\/config\.json \(EISDIR\)/ },
  ])('the machine-wide file: $name', ({ error, message }) => {
    const readFile = () => {
      throw Object.assign(new Error(error), { code: error });
    };
    expectConfigError(() => load({ platform: 'linux', readFile }), message, NEVER_DROPPED);
  });

  it('the machine-wide file saved with a UTF-8 byte-order mark (Windows tools write one) still applies', () => {
    const { config } = load({ platform: 'linux', ...files({ [LINUX_MACHINE_FILE]: '\uFEFF{"mode":"local","proxy":{"port":4322}}' }) });
    expect(config.proxy.port).toBe(4322);
  });

  it('the machine-wide file: invalid JSON, and an error from loading that names it and the fix', () => {
    expectConfigError(() => load({ platform: 'linux', ...files({ [LINUX_MACHINE_FILE]: '{"mode":' }) }), /machine-wide managed configuration \/etc\/bifrost-edge\/config\.json is not valid JSON/, NEVER_DROPPED);
    expectConfigError(
      () => load({ platform: 'linux', ...files({ [LINUX_MACHINE_FILE]: '{"mode":"gateway"}' }) }),
      /mode is "gateway" but no gateway is configured/,
      /\(configuration: machine-wide managed configuration \/etc\/bifrost-edge\/config\.json\)/,
    );
    expectConfigError(() => load({ platform: 'linux', ...files({ [LINUX_MACHINE_FILE]: '{"proxxy":{}}' }) }), /\(from machine-wide managed configuration \/etc\/bifrost-edge\/config\.json\): has unknown field\(s\) "proxxy"/, /\nFix \/etc\/bifrost-edge\/config\.json/);
  });

  it('the machine-wide file: an audit.maxBytes below the largest audit record is refused like any invalid field, naming the minimum (and no installer carries it)', () => {
    expectConfigError(
      () => load({ platform: 'linux', ...files({ [LINUX_MACHINE_FILE]: JSON.stringify({ audit: { maxBytes: 16 * 1024 } }) }) }),
      new RegExp(`- audit\\.maxBytes \\(from machine-wide managed configuration /etc/bifrost-edge/config\\.json\\): must be at least ${LARGEST_RECORD_ROW_BYTES} bytes`),
      /\nFix \/etc\/bifrost-edge\/config\.json/,
      NEVER_DROPPED,
    );
    // The installers and MDM profile generators validate with the same schema: such a profile is never built.
    expect(() => installerSettings({ audit: { maxBytes: 16 * 1024 } })).toThrow(new RegExp(`- audit\\.maxBytes: must be at least ${LARGEST_RECORD_ROW_BYTES} bytes`));
  });

  it('the test hook must name an existing file, and never replaces a real managed file', () => {
    expectConfigError(() => load({ platform: 'linux', env: { [TEST_MACHINE_CONFIG_ENV]: '/nope.json' }, ...files({}) }), /BIFROST_EDGE_TEST_MACHINE_CONFIG names \/nope\.json, which does not exist/);
    const hook = writeJson({ mode: 'local' });
    const loaded = load({ platform: 'linux', env: { [TEST_MACHINE_CONFIG_ENV]: hook }, ...files({ [LINUX_MACHINE_FILE]: JSON.stringify(GATEWAY) }) });
    expect(loaded.config.mode).toBe('gateway');
  });
});

// ---- reg.exe output -------------------------------------------------------------------------------

describe('reading reg.exe output', () => {
  it.each([
    { name: 'REG_SZ with spaces in the data', output: regValueOutput('{"auth": {"clientId": "edge  desk  app"}}'), expected: { name: 'Config', type: 'REG_SZ', data: '{"auth": {"clientId": "edge  desk  app"}}' } },
    { name: 'REG_EXPAND_SZ, not expanded', output: regValueOutput('{"policyFile":"%ProgramData%\\\\p.json"}', 'REG_EXPAND_SZ'), expected: { name: 'Config', type: 'REG_EXPAND_SZ', data: '{"policyFile":"%ProgramData%\\\\p.json"}' } },
    { name: 'a name in other case', output: regValueOutput('{}', 'REG_SZ', 'config'), expected: { name: 'config', type: 'REG_SZ', data: '{}' } },
    { name: 'data that contains four spaces and REG_SZ', output: regValueOutput('{"x":"a    REG_SZ    b"}'), expected: { name: 'Config', type: 'REG_SZ', data: '{"x":"a    REG_SZ    b"}' } },
    {
      name: 'data spanning lines, in a listing of several values',
      output: `\r\n${FULL_KEY}\r\n    Before    REG_DWORD    0x1\r\n    Config    REG_SZ    {\r\n  "mode": "local"\r\n}\r\n    After    REG_SZ    x\r\n\r\n`,
      expected: { name: 'Config', type: 'REG_SZ', data: '{\n  "mode": "local"\n}' },
    },
  ])('$name', ({ output, expected }) => {
    expect(findRegistryValue(output, 'Config')).toEqual(expected);
  });

  it('a listing without the value, and subkeys by full name', () => {
    const listing = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\r\n';
    expect(findRegistryValue(listing, 'Config')).toBeUndefined();
    expect(listsSubkey(listing, 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\microsoft')).toBe(true);
    expect(listsSubkey(listing, 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Bifrost')).toBe(false);
  });

  const policies = (...subkeys: string[]) => ({ exitCode: 0, stdout: `\r\n${subkeys.map((key) => `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${key}`).join('\r\n')}\r\n`, stderr: '' });

  it('a translated "not found": the untranslated listings show there is no Bifrost key, so it is not configured', () => {
    const run = fakeReg({ [`${KEY} /v Config`]: REG_NOT_FOUND_GERMAN, 'HKLM\\SOFTWARE\\Policies': policies('Google', 'Microsoft') });
    expect(findManagedSource({ platform: 'win32', env: winEnv, arch: 'x64', run, ...files({}) }).managed).toBeUndefined();
  });

  it('a translated "not found" for the value: the key exists but lists no Config, so it is not configured', () => {
    const run = fakeReg({
      [`${KEY} /v Config`]: REG_NOT_FOUND_GERMAN,
      'HKLM\\SOFTWARE\\Policies': policies('Bifrost', 'Microsoft'),
      'HKLM\\SOFTWARE\\Policies\\Bifrost': policies('Bifrost\\Edge'),
      [KEY]: { exitCode: 0, stdout: `\r\n${FULL_KEY}\r\n    Other    REG_SZ    x\r\n\r\n`, stderr: '' },
    });
    expect(findManagedSource({ platform: 'win32', env: winEnv, arch: 'x64', run, ...files({}) }).managed).toBeUndefined();
    expect(run.calls).toHaveLength(4);
  });

  it('a translated failure on a key that exists and cannot be listed is an error, not "not configured"', () => {
    const denied = { exitCode: 1, stdout: '', stderr: 'FEHLER: Zugriff verweigert\r\n' };
    const run = fakeReg({
      [`${KEY} /v Config`]: denied,
      'HKLM\\SOFTWARE\\Policies': policies('Bifrost'),
      'HKLM\\SOFTWARE\\Policies\\Bifrost': policies('Bifrost\\Edge'),
      [KEY]: denied,
    });
    expectConfigError(() => findManagedSource({ platform: 'win32', env: winEnv, arch: 'x64', run, ...files({}) }), /reg\.exe failed \(FEHLER: Zugriff verweigert; listing HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge: FEHLER: Zugriff verweigert\)/, NEVER_DROPPED);
  });

  it('asks for the 64-bit registry view except on 32-bit Windows', () => {
    const calls: string[][] = [];
    const run: SyncCommandRunner = (argv) => {
      calls.push([...argv]);
      return REG_NOT_FOUND;
    };
    findManagedSource({ platform: 'win32', env: { SystemRoot: 'D:\\Win' }, arch: 'ia32', run, ...files({}) });
    findManagedSource({ platform: 'win32', env: { SystemRoot: 'D:\\Win', PROCESSOR_ARCHITEW6432: 'AMD64' }, arch: 'ia32', run, ...files({}) });
    expect(calls).toEqual([
      ['D:\\Win\\System32\\reg.exe', 'query', KEY, '/v', 'Config'],
      ['D:\\Win\\System32\\reg.exe', 'query', KEY, '/v', 'Config', '/reg:64'],
    ]);
  });
});

describe('Windows: environment variables the user sets do not move IT\'s configuration away', () => {
  const FAKE_ROOT = 'C:\\Users\\me\\fake';
  const FAKE_REG = `${FAKE_ROOT}\\System32\\reg.exe`;
  const policyValue: CommandResult = { exitCode: 0, stdout: regValueOutput(JSON.stringify(GATEWAY)), stderr: '' };
  /** reg.exe answers by which binary was run: Windows' own, and the user's planted one. */
  const regs = (real: CommandResult, planted: CommandResult): SyncCommandRunner => (argv) => (argv[0] === REG ? real : argv[0] === FAKE_REG ? planted : REG_NOT_FOUND);
  const bothRegs = { exists: (file: string) => file === REG || file === FAKE_REG, readFile: files({}).readFile };

  it('%SystemRoot% pointing at a reg.exe that says "not found": Windows\' own reg.exe still finds the policy', () => {
    const found = findManagedSource({ platform: 'win32', env: { SystemRoot: FAKE_ROOT }, arch: 'x64', run: regs(policyValue, REG_NOT_FOUND), ...bothRegs });
    expect(found.managed?.values).toEqual(GATEWAY);
  });

  it('two reg.exe that read different policies stop Edge instead of picking one', () => {
    const planted: CommandResult = { exitCode: 0, stdout: regValueOutput('{"mode":"local"}'), stderr: '' };
    expectConfigError(() => findManagedSource({ platform: 'win32', env: { SystemRoot: FAKE_ROOT }, arch: 'x64', run: regs(policyValue, planted), ...bothRegs }),
      /reads differently through C:\\Windows\\System32\\reg\.exe and C:\\Users\\me\\fake\\System32\\reg\.exe/, NEVER_DROPPED);
  });

  it('%ProgramData% moved elsewhere: the file in C:\\ProgramData still applies; two different files stop Edge', () => {
    const env = { SystemRoot: 'C:\\Windows', ProgramData: 'C:\\Users\\me\\pd' };
    const run = () => fakeReg({ [`${KEY} /v Config`]: REG_NOT_FOUND });
    const moved = 'C:\\Users\\me\\pd\\Bifrost Edge\\config.json';
    expect(findManagedSource({ platform: 'win32', env, arch: 'x64', run: run(), ...files({ [WIN_MACHINE_FILE]: JSON.stringify(GATEWAY) }) }).managed?.values).toEqual(GATEWAY);
    expectConfigError(() => findManagedSource({ platform: 'win32', env, arch: 'x64', run: run(), ...files({ [WIN_MACHINE_FILE]: JSON.stringify(GATEWAY), [moved]: '{"mode":"local"}' }) }),
      /both exist and differ/, NEVER_DROPPED);
  });
});

describe('finding a non-JSON value in plutil XML', () => {
  it.each([
    ['<dict><key>a</key><dict><key>b &amp; c</key><date>2024-01-01T00:00:00Z</date></dict></dict>', { path: 'a.b & c', type: 'date' }],
    ['<dict><key>list</key><array><dict/><array><string>x</string><data/></array></array></dict>', { path: 'list[1][1]', type: 'data' }],
    ['<dict><key>s</key><string>&lt;date&gt;</string><key>t</key><true/><key>n</key><integer>1</integer></dict>', undefined],
  ] as const)('%s', (xml, expected) => {
    expect(firstNonJsonValue(xml)).toEqual(expected);
  });
});

// ---- round trips with the real generators -------------------------------------------------------

/** What an admin writes: every shape the schema has (nested objects, arrays, integers, booleans). */
const ADMIN_CONFIG = {
  mode: 'gateway',
  gateway: { url: 'https://bifrost.example.com/edge?team=a&b=1', connectTimeoutMs: 5000, syncPolicyFromQuota: true },
  auth: { issuer: 'https://login.example.com/realms/staff', clientId: `edge "desk" app's & <co> $(whoami) C:\\tmp`, scopes: ['openid', 'email'] },
  interceptHosts: ['api.openai.com', 'api.*.githubcopilot.com'],
  guardrails: { pii: ['email', 'credit_card'], minConfidence: 0.75 },
  metrics: { port: 9465 },
  logLevel: 'warn',
};

/** The configuration the agent runs with when given the admin's JSON directly: the expected result. */
function configFromAdminFile() {
  return loadConfig({ file: writeJson(ADMIN_CONFIG), env: {} });
}

describe('round trips: what the generators store is what the agent runs with', () => {
  it('Windows: install.ps1 stores the JSON as REG_SZ Config; reg.exe prints it; the agent reads the admin\'s configuration', () => {
    const script = windowsInstallerFiles(installerSettings(ADMIN_CONFIG))['install.ps1'];
    expect(script).toContain("$PolicyKey = 'HKLM:\\SOFTWARE\\Policies\\Bifrost\\Edge'");
    // New-ItemProperty -PropertyType String makes a REG_SZ.
    expect(script).toContain("Set-RegistryValue $PolicyKey 'Config' $EdgeConfigJson 'String'");
    const start = script.indexOf('$EdgeConfigJson = ') + '$EdgeConfigJson = '.length;
    const stored = readPowerShellVerbatimString(script, start).value;

    const run = fakeReg({ [`${KEY} /v Config`]: { exitCode: 0, stdout: regValueOutput(stored), stderr: '' } });
    const loaded = load({ platform: 'win32', env: winEnv, run, ...files({}) });
    expect(findManagedSource({ platform: 'win32', env: winEnv, arch: 'x64', run, ...files({}) }).managed?.values).toEqual(ADMIN_CONFIG);
    expect(loaded.config).toEqual(configFromAdminFile());
    expect(loaded.origin).toBe(`registry value ${KEY}\\Config`);
  });

  it('macOS: the profile\'s forced preferences, materialized and converted by plutil, are the admin\'s configuration', () => {
    const profile = edgeProfile(installerSettings(ADMIN_CONFIG, { identifierPrefix: 'com.example.bifrost-edge' }));
    const run = plutilStandIn(materializeManagedPreferences(profile.contents, tempDir()));
    const loaded = load({ platform: 'darwin', run, ...files({ [MAC_PLIST]: '' }) });
    expect(findManagedSource({ platform: 'darwin', env: {}, run, ...files({ [MAC_PLIST]: '' }) }).managed?.values).toEqual(ADMIN_CONFIG);
    expect(loaded.config).toEqual(configFromAdminFile());
    expect(run.calls[0]).toEqual([PLUTIL, '-convert', 'json', '-o', '-', '--', MAC_PLIST]);
  });

  it('macOS: a <data> value in the profile fails with its field named', () => {
    // The generator never writes <data> into the preferences; an admin editing the profile by hand might.
    const dir = tempDir();
    const file = path.join(dir, 'com.bifrost.edge.plist');
    fs.writeFileSync(file, renderPlist({ gateway: { url: 'https://bifrost.example.com', caFile: Buffer.from('PEM') } }));
    expectConfigError(() => load({ platform: 'darwin', run: plutilStandIn(file), ...files({ [MAC_PLIST]: '' }) }), /gateway\.caFile is a <data> value/);
  });
});

// ---- the real CLI -------------------------------------------------------------------------------

describe('bifrost-edge run without --config', () => {
  /** The environment of a shell with no Edge settings, plus `env`. */
  function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BIFROST_EDGE_')));
    return { ...base, ...env };
  }

  it('picks up the machine-wide managed configuration and keeps it over BIFROST_EDGE_* variables', async () => {
    const standin = await startBifrostStandin();
    const dataDir = tempDir();
    const managedFile = path.join(dataDir, 'managed.json');
    fs.writeFileSync(managedFile, JSON.stringify({ gateway: { url: standin.url }, metrics: { port: null }, logLevel: 'info' }));
    const child = spawn(process.execPath, [EDGE_BIN, 'run', '--port', '0', '--data-dir', dataDir], {
      env: cleanEnv({ [TEST_MACHINE_CONFIG_ENV]: managedFile, BIFROST_EDGE_MODE: 'local', BIFROST_EDGE_GATEWAY_URL: 'http://127.0.0.1:1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await new Promise<{ proxy: string }>((resolve, reject) => {
        readline.createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as { proxy: string }));
        void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${stderr}`)));
      });
      const status = (await (await fetch(`${ready.proxy}/status.json`)).json()) as { mode: string; gateway: string };
      expect(status).toMatchObject({ mode: 'gateway', gateway: standin.url });
      expect(stderr).toContain(`configuration loaded {"from":"machine-wide managed configuration ${managedFile} (test hook ${TEST_MACHINE_CONFIG_ENV})"}`);
      expect(stderr).toContain('ignoring gateway.url from environment variable BIFROST_EDGE_GATEWAY_URL: your organization manages it');
      expect(stderr).toContain('ignoring mode from environment variable BIFROST_EDGE_MODE: your organization manages it');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await standin.close();
    }
  });

  it('refuses to start on a broken managed configuration, naming it and the field', async () => {
    const managedFile = writeJson({ gateway: { url: 'ftp://bifrost.example.com' } });
    const child = spawn(process.execPath, [EDGE_BIN, 'run', '--port', '0', '--data-dir', tempDir()], { env: cleanEnv({ [TEST_MACHINE_CONFIG_ENV]: managedFile }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`- gateway.url (from machine-wide managed configuration ${managedFile} (test hook ${TEST_MACHINE_CONFIG_ENV})): must be an http`);
  });
});
