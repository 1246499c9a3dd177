import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caBundleWithPublicRoots,
  clientEnvironment,
  detectTrustStorePlatform,
  installIntoNssDb,
  loadOrCreateCa,
  nssInstallCommand,
  nssRemoveCommand,
  removeFromNssDb,
  trustStoreInstallCommands,
  trustStoreRemoveCommands,
  type CertificateAuthority,
} from '../../src/ca/index.js';
import * as trustStores from '../../src/ca/trust-stores.js';
import { execFileAsync, makeTempDir, removeTempDirs } from './support.js';

let ca: CertificateAuthority;
let thumbprint: string;

beforeAll(async () => {
  ca = await loadOrCreateCa({ dir: path.join(await makeTempDir(), 'ca dir with spaces'), log: () => undefined });
  thumbprint = new X509Certificate(ca.certPem).fingerprint.replaceAll(':', '');
});

afterAll(removeTempDirs);

describe('trust store commands', () => {
  it('builds install commands per platform as argv arrays (no shell quoting needed)', () => {
    expect(trustStoreInstallCommands('macos', ca)).toEqual([
      { argv: ['security', 'add-trusted-cert', '-d', '-r', 'trustRoot', '-k', '/Library/Keychains/System.keychain', ca.certPath], needsAdmin: true },
    ]);
    expect(trustStoreInstallCommands('macos', ca, 'user')).toEqual([{ argv: ['security', 'add-trusted-cert', '-r', 'trustRoot', ca.certPath], needsAdmin: false }]);
    expect(trustStoreInstallCommands('windows', ca)).toEqual([{ argv: ['certutil', '-addstore', 'Root', ca.certPath], needsAdmin: true }]);
    expect(trustStoreInstallCommands('windows', ca, 'user')).toEqual([{ argv: ['certutil', '-user', '-addstore', 'Root', ca.certPath], needsAdmin: false }]);
    expect(trustStoreInstallCommands('debian', ca)).toEqual([
      { argv: ['install', '-D', '-m', '0644', ca.certPath, '/usr/local/share/ca-certificates/bifrost-edge.crt'], needsAdmin: true },
      { argv: ['update-ca-certificates'], needsAdmin: true },
    ]);
    expect(trustStoreInstallCommands('rhel', ca)).toEqual([
      { argv: ['install', '-D', '-m', '0644', ca.certPath, '/etc/pki/ca-trust/source/anchors/bifrost-edge.pem'], needsAdmin: true },
      { argv: ['update-ca-trust', 'extract'], needsAdmin: true },
    ]);
    expect(ca.certPath).toContain(' '); // the path survives as one argument
  });

  it('builds remove commands that find the CA by SHA-1 thumbprint', () => {
    expect(thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(trustStoreRemoveCommands('macos', ca)).toEqual([
      { argv: ['security', 'remove-trusted-cert', '-d', ca.certPath], needsAdmin: true },
      { argv: ['security', 'delete-certificate', '-Z', thumbprint, '/Library/Keychains/System.keychain'], needsAdmin: true },
    ]);
    expect(trustStoreRemoveCommands('windows', ca)).toEqual([{ argv: ['certutil', '-delstore', 'Root', thumbprint], needsAdmin: true }]);
    expect(trustStoreRemoveCommands('windows', ca, 'user')).toEqual([{ argv: ['certutil', '-user', '-delstore', 'Root', thumbprint], needsAdmin: false }]);
    expect(trustStoreRemoveCommands('debian', ca).map((command) => command.argv)).toEqual([
      ['rm', '-f', '/usr/local/share/ca-certificates/bifrost-edge.crt'],
      ['update-ca-certificates', '--fresh'],
    ]);
    expect(trustStoreRemoveCommands('rhel', ca).map((command) => command.argv)).toEqual([
      ['rm', '-f', '/etc/pki/ca-trust/source/anchors/bifrost-edge.pem'],
      ['update-ca-trust', 'extract'],
    ]);
  });

  it('explains that Linux has no per-user OS trust store', () => {
    expect(() => trustStoreInstallCommands('debian', ca, 'user')).toThrow(/use installIntoNssDb for browsers and clientEnvironment/);
  });

  it('builds NSS commands', () => {
    expect(nssInstallCommand('/home/u/.pki/nssdb', '/tmp/ca.pem', 'Bifrost Edge')).toEqual({
      argv: ['certutil', '-d', 'sql:/home/u/.pki/nssdb', '-A', '-t', 'C,,', '-n', 'Bifrost Edge', '-i', '/tmp/ca.pem'],
      needsAdmin: false,
    });
    expect(nssRemoveCommand('/db').argv).toEqual(['certutil', '-d', 'sql:/db', '-D', '-n', 'Bifrost Edge Local CA']);
  });

  it.each([
    ['darwin', '', 'macos'],
    ['win32', '', 'windows'],
    ['linux', 'ID=ubuntu\nID_LIKE=debian\n', 'debian'],
    ['linux', 'ID=debian\n', 'debian'],
    ['linux', 'ID="rocky"\nID_LIKE="rhel centos fedora"\n', 'rhel'],
    ['linux', 'ID=fedora\n', 'rhel'],
    ['linux', 'ID=arch\n', undefined],
    ['freebsd', '', undefined],
  ] as const)('detects %s / %j as %s', (nodePlatform, osRelease, expected) => {
    expect(detectTrustStorePlatform(nodePlatform, osRelease)).toBe(expected);
  });

  it('offers everything trust related from one import path', () => {
    expect(trustStores.installIntoNssDb).toBe(installIntoNssDb);
    expect(trustStores.clientEnvironment).toBe(clientEnvironment);
  });
});

describe('clientEnvironment', () => {
  it('points CLI tools at the proxy and the CA', () => {
    expect(clientEnvironment('/ca/ca.pem', 'http://127.0.0.1:8888/')).toEqual({
      NODE_EXTRA_CA_CERTS: '/ca/ca.pem',
      REQUESTS_CA_BUNDLE: '/ca/ca.pem',
      SSL_CERT_FILE: '/ca/ca.pem',
      GIT_SSL_CAINFO: '/ca/ca.pem',
      CURL_CA_BUNDLE: '/ca/ca.pem',
      HTTPS_PROXY: 'http://127.0.0.1:8888',
      https_proxy: 'http://127.0.0.1:8888',
      HTTP_PROXY: 'http://127.0.0.1:8888',
      http_proxy: 'http://127.0.0.1:8888',
      NO_PROXY: 'localhost,127.0.0.1,::1',
      no_proxy: 'localhost,127.0.0.1,::1',
    });
  });

  it('uses a bundle with the public roots for tools whose CA variable replaces their roots', () => {
    const env = clientEnvironment('/ca/ca.pem', 'http://127.0.0.1:8888', { caBundlePath: '/ca/bundle.pem' });
    expect(env.NODE_EXTRA_CA_CERTS).toBe('/ca/ca.pem'); // additive in Node
    for (const name of ['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'CURL_CA_BUNDLE']) expect(env[name]).toBe('/ca/bundle.pem');

    const bundle = caBundleWithPublicRoots(ca.certPem);
    const certificates = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(certificates).toHaveLength(rootCertificates.length + 1);
    expect(new X509Certificate(certificates.at(-1)!).fingerprint256).toBe(ca.fingerprintSha256);
  });

  it('rejects a proxy URL it cannot use', () => {
    expect(() => clientEnvironment('/ca.pem', 'socks5://127.0.0.1:1080')).toThrow(/must start with http:\/\//);
    expect(() => clientEnvironment('/ca.pem', '127.0.0.1:8888')).toThrow(/expected something like/);
    expect(() => clientEnvironment('/ca.pem', 'not a url')).toThrow(/Invalid proxy URL .* "http:\/\/127\.0\.0\.1:8888"/);
  });
});


describe('NSS databases', () => {
  it('explains how to install certutil when it is missing', async () => {
    const dbDir = await makeTempDir();
    await expect(installIntoNssDb(dbDir, ca.certPath, 'Bifrost Edge', { certutilPath: '/nonexistent/certutil' })).rejects.toThrow(
      /\/nonexistent\/certutil \(NSS tools\) was not found.*apt-get install libnss3-tools/,
    );
  });

  it('creates a database, trusts the CA in it, replaces it on renewal and removes it', async () => {
    const dbDir = path.join(await makeTempDir(), 'nssdb');
    const list = async () => (await execFileAsync('certutil', ['-L', '-d', `sql:${dbDir}`])).stdout;
    const exported = async () => (await execFileAsync('certutil', ['-L', '-d', `sql:${dbDir}`, '-n', 'Bifrost Edge', '-a'])).stdout;

    await installIntoNssDb(dbDir, ca.certPath, 'Bifrost Edge');
    expect(await list()).toMatch(/^Bifrost Edge\s+C,,\s*$/m);
    expect(new X509Certificate(await exported()).fingerprint256).toBe(ca.fingerprintSha256);

    await installIntoNssDb(dbDir, ca.certPath, 'Bifrost Edge'); // idempotent
    expect((await list()).match(/^Bifrost Edge\s/gm)).toHaveLength(1);

    const renewed = await loadOrCreateCa({ dir: await makeTempDir(), log: () => undefined });
    await installIntoNssDb(dbDir, renewed.certPath, 'Bifrost Edge');
    expect((await list()).match(/^Bifrost Edge\s/gm)).toHaveLength(1);
    expect(new X509Certificate(await exported()).fingerprint256).toBe(renewed.fingerprintSha256);

    await removeFromNssDb(dbDir, 'Bifrost Edge');
    expect(await list()).not.toMatch(/Bifrost Edge/);
    await removeFromNssDb(dbDir, 'Bifrost Edge'); // nothing left: no error
  });

  it('refuses a CA file that does not exist, saying what to do', async () => {
    await expect(installIntoNssDb(await makeTempDir(), '/nonexistent/ca.pem', 'Bifrost Edge')).rejects.toThrow(/load or create the CA before installing it/);
  });
});
