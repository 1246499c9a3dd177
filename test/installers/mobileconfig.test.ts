import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/ca/index.js';
import { installerSettings, type InstallerSettings } from '../../src/installers/installer-settings.js';
import { caTrustProfile, edgeProfile } from '../../src/installers/mobileconfig.js';
import { uuidV5 } from '../../src/installers/stable-uuid.js';
import { makeTempDir, removeTempDirs, requireTool } from './support.js';

/** Parses a plist with Python's plistlib (the reference reader here) and returns it as JSON; data → base64. */
async function readWithPlistlib(contents: string, file: string): Promise<Record<string, unknown>> {
  await writeFile(file, contents);
  requireTool('python3', 'python3');
  const program = [
    'import base64, json, plistlib, sys',
    "def plain(v):",
    "    if isinstance(v, bytes): return {'$data': base64.b64encode(v).decode()}",
    "    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}",
    "    if isinstance(v, list): return [plain(x) for x in v]",
    '    return v',
    "with open(sys.argv[1], 'rb') as f: print(json.dumps(plain(plistlib.load(f))))",
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', program, file], { encoding: 'utf8' })) as Record<string, unknown>;
}

const trickyConfig = {
  mode: 'gateway',
  gateway: { url: 'https://bifrost.example.com/a?b=1&c=<2>', connectTimeoutMs: 5000, syncPolicyFromQuota: true },
  auth: { issuer: 'https://login.example.com/realms/staff', clientId: `edge "desk" app's & <co> 日本 😀`, scopes: ['openid', 'email'] },
  interceptHosts: ['api.openai.com', 'api.*.githubcopilot.com'],
};

let dir: string;
let ca: CertificateAuthority;
let settings: InstallerSettings;

beforeAll(async () => {
  dir = await makeTempDir();
  ca = await loadOrCreateCa({ dir: path.join(dir, 'ca'), log: () => undefined });
  settings = installerSettings(trickyConfig, { organization: 'Example & Co <IT>', identifierPrefix: 'com.example.bifrost-edge' });
});
afterAll(removeTempDirs);

describe('edgeProfile', () => {
  it('is a plist that plistlib reads back with the proxy and managed-preferences payloads', async () => {
    const profile = edgeProfile(settings);
    const parsed = await readWithPlistlib(profile.contents, path.join(dir, profile.fileName));

    expect(parsed).toMatchObject({
      PayloadType: 'Configuration',
      PayloadVersion: 1,
      PayloadIdentifier: 'com.example.bifrost-edge',
      PayloadScope: 'System',
      PayloadOrganization: 'Example & Co <IT>',
    });
    const [proxy, preferences] = parsed.PayloadContent as Array<Record<string, unknown>>;
    expect(proxy).toMatchObject({
      PayloadType: 'com.apple.proxy.http.global',
      PayloadIdentifier: 'com.example.bifrost-edge.proxy',
      ProxyType: 'Auto',
      ProxyPACURL: 'http://127.0.0.1:8790/proxy.pac',
      ProxyPACFallbackAllowed: true,
      ProxyCaptiveLoginAllowed: true,
    });
    expect(preferences).toMatchObject({ PayloadType: 'com.apple.ManagedClient.preferences', PayloadIdentifier: 'com.example.bifrost-edge.preferences' });
    // The forced settings are exactly the config file, types included (integers, booleans, arrays).
    const forced = (preferences!.PayloadContent as Record<string, { Forced: Array<{ mcx_preference_settings: unknown }> }>)['com.bifrost.edge']!.Forced;
    expect(forced).toEqual([{ mcx_preference_settings: trickyConfig }]);
  });

  it('has distinct RFC 4122 v5 UUIDs that stay the same for the same input and change with it', () => {
    const uuids = (contents: string) => [...contents.matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)<\/string>/g)].map((match) => match[1]!);
    const first = uuids(edgeProfile(settings).contents);
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(3);
    for (const uuid of first) expect(uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(edgeProfile(settings).contents).toBe(edgeProfile(settings).contents);

    const changed = uuids(edgeProfile(installerSettings({ ...trickyConfig, mode: 'passthrough' }, { identifierPrefix: 'com.example.bifrost-edge', organization: 'Example & Co <IT>' })).contents);
    expect(changed[0]).toBe(first[0]); // proxy payload unchanged
    expect(changed[1]).not.toBe(first[1]); // preferences changed
    expect(changed[2]).not.toBe(first[2]); // so the profile changed
  });

  it('refuses what a profile cannot say or should not carry', () => {
    expect(() => edgeProfile(installerSettings({ metrics: { port: null } }))).toThrow(/metrics\.port is null.*remove the field/);
    expect(() => installerSettings({ gateway: { url: 'https://gw.example.com', virtualKey: 'sk-bf-123' } })).toThrow(/gateway\.virtualKey: remove it/);
    expect(() => installerSettings({ guardrails: { contentsafety: { model: 'omni-moderation-latest' } } })).toThrow(/guardrails: has unknown field\(s\) "contentsafety"/);
    expect(() => installerSettings({ proxy: { port: 0 } })).toThrow(/proxy\.port: 0/);
    expect(() => installerSettings({ mode: 'sideways' })).toThrow(/- mode:/);
    expect(() => installerSettings({}, { identifierPrefix: 'not reverse dns' })).toThrow(/reverse-DNS/);
  });
});

describe('caTrustProfile', () => {
  it('carries the device CA as DER in a com.apple.security.root payload', async () => {
    const profile = caTrustProfile(ca.certPem, settings);
    const parsed = await readWithPlistlib(profile.contents, path.join(dir, profile.fileName));
    expect(parsed).toMatchObject({ PayloadType: 'Configuration', PayloadIdentifier: 'com.example.bifrost-edge.ca', PayloadScope: 'System' });
    const [root] = parsed.PayloadContent as Array<Record<string, unknown>>;
    expect(root).toMatchObject({ PayloadType: 'com.apple.security.root', PayloadCertificateFileName: 'bifrost-edge-ca.cer' });
    const der = Buffer.from((root!.PayloadContent as { $data: string }).$data, 'base64');
    expect(new X509Certificate(der).fingerprint256).toBe(ca.fingerprintSha256);
  });

  it('keeps the same identifier for a renewed CA, so the new profile replaces the old', async () => {
    const renewed = await loadOrCreateCa({ dir: path.join(dir, 'ca2'), log: () => undefined });
    const identifier = async (pem: string) => (await readWithPlistlib(caTrustProfile(pem, settings).contents, path.join(dir, 'renewal.mobileconfig'))).PayloadIdentifier;
    expect(await identifier(renewed.certPem)).toBe('com.example.bifrost-edge.ca');
    expect(await identifier(ca.certPem)).toBe('com.example.bifrost-edge.ca');
    expect(() => caTrustProfile('not a certificate', settings)).toThrow(/not a PEM certificate/);
  });
});

describe('uuidV5', () => {
  it('matches Python\'s uuid.uuid5 (RFC 4122 test vector and our own names)', () => {
    requireTool('python3', 'python3');
    const dns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    expect(uuidV5('www.example.com', dns)).toBe('2ED6657D-E927-568B-95E1-2665A8AEA6A2');
    for (const name of ['com.example.bifrost-edge', 'ünïcode 😀\n{"a":1}']) {
      const python = execFileSync('python3', ['-c', 'import sys, uuid; print(str(uuid.uuid5(uuid.NAMESPACE_URL, sys.argv[1])).upper())', name], { encoding: 'utf8' }).trim();
      expect(uuidV5(name)).toBe(python);
    }
  });
});
