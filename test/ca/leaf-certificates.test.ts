import { createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidHostnameError,
  LeafCertificateStore,
  generateRsaKeyPair,
  loadOrCreateCa,
  normalizeHostname,
  type CertificateAuthority,
  type PemKeyPair,
} from '../../src/ca/index.js';
import { closeServer, execFileAsync, makeTempDir, removeTempDirs, startHttpsServer, tlsHandshake } from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

let ca: CertificateAuthority;
let leafKeys: PemKeyPair;
let store: LeafCertificateStore;

beforeAll(async () => {
  [ca, leafKeys] = await Promise.all([loadOrCreateCa({ dir: await makeTempDir(), log: () => undefined }), generateRsaKeyPair()]);
  store = new LeafCertificateStore(ca, leafKeys);
});

afterAll(removeTempDirs);

describe('LeafCertificateStore', () => {
  it('issues a server certificate for a host, signed by the CA', () => {
    const before = Date.now();
    const { certPem, keyPem } = store.getCertificate('api.openai.com');
    const leaf = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.certPem);

    expect(keyPem).toBe(leafKeys.privateKeyPem);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(leaf.subject).toBe('CN=api.openai.com\nO=Bifrost Edge');
    expect(leaf.issuer).toBe(caCert.subject);
    expect(leaf.subjectAltName).toBe('DNS:api.openai.com');
    expect(leaf.checkHost('api.openai.com')).toBe('api.openai.com');
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(leaf.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);

    const notBefore = new Date(leaf.validFrom).getTime();
    const notAfter = new Date(leaf.validTo).getTime();
    // One day in the past (to the second, as X.509 times have no milliseconds).
    expect(Math.abs(notBefore - (before - DAY_MS))).toBeLessThan(5_000);
    expect(notAfter - notBefore).toBeLessThanOrEqual(397 * DAY_MS);
    expect(notAfter - notBefore).toBeGreaterThan(396 * DAY_MS);
  });

  it('names the CA key in authorityKeyIdentifier, as openssl reads it', async () => {
    const dir = await makeTempDir();
    const leafPath = path.join(dir, 'leaf.pem');
    await writeFile(leafPath, store.getCertificate('api.perplexity.ai').certPem);
    const caSki = (await execFileAsync('openssl', ['x509', '-in', ca.certPath, '-noout', '-ext', 'subjectKeyIdentifier'])).stdout;
    const leafAki = (await execFileAsync('openssl', ['x509', '-in', leafPath, '-noout', '-ext', 'authorityKeyIdentifier'])).stdout;
    const keyId = /([0-9A-F]{2}(?::[0-9A-F]{2}){19})/;
    expect(caSki).toMatch(keyId);
    expect(leafAki.match(keyId)?.[1]).toBe(caSki.match(keyId)?.[1]);
    expect((await execFileAsync('openssl', ['verify', '-CAfile', ca.certPath, leafPath])).stdout).toBe(`${leafPath}: OK\n`);
  });

  it('puts IPv4 and IPv6 literals into iPAddress SANs, and a real TLS client accepts them', async () => {
    const v4 = new X509Certificate(store.getCertificate('127.0.0.1').certPem);
    expect(v4.subjectAltName).toBe('IP Address:127.0.0.1');
    expect(v4.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const v6 = new X509Certificate(store.getCertificate('[::1]').certPem);
    expect(v6.subjectAltName).toBe('IP Address:0:0:0:0:0:0:0:1');
    expect(v6.checkIP('::1')).toBe('::1');

    const ipLeaf = { cert: store.getCertificate('127.0.0.1').certPem, key: store.getCertificate('127.0.0.1').keyPem };
    const { port, server } = await startHttpsServer((name) => store.getSecureContext(name), ipLeaf);
    try {
      // No servername: Node sends no SNI for IP addresses and checks the IP SAN.
      expect(await tlsHandshake(port, undefined, ca.certPem)).toEqual({ authorized: true });
    } finally {
      await closeServer(server);
    }
  });

  it('serves real TLS through getSecureContext for names, and Node rejects a host the certificate does not name', async () => {
    const { port, server } = await startHttpsServer((name) => store.getSecureContext(name === 'wrong.example' ? 'api.anthropic.com' : name));
    try {
      expect(await tlsHandshake(port, 'api.anthropic.com', ca.certPem)).toEqual({ authorized: true });
      expect(await tlsHandshake(port, 'wrong.example', ca.certPem)).toMatchObject({ authorized: false, errorCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      const status = await new Promise<number | undefined>((resolve, reject) => {
        get({ host: '127.0.0.1', port, servername: 'api.anthropic.com', ca: ca.certPem }, (response) => {
          response.resume();
          resolve(response.statusCode);
        }).on('error', reject);
      });
      expect(status).toBe(200);
    } finally {
      await closeServer(server);
    }
  });

  it('shares one key pair across hosts instead of generating a key per host', () => {
    const first = store.getCertificate('api.groq.com');
    const second = store.getCertificate('api.mistral.ai');
    const firstCert = new X509Certificate(first.certPem);
    const secondCert = new X509Certificate(second.certPem);
    expect(first.keyPem).toBe(second.keyPem);
    expect(firstCert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(secondCert.publicKey.export({ type: 'spki', format: 'der' }));
    expect(firstCert.serialNumber).not.toBe(secondCert.serialNumber);
  });

  it('caches certificates and secure contexts per normalised host', () => {
    const first = store.getCertificate('api.x.ai');
    expect(store.getCertificate('api.x.ai')).toBe(first);
    expect(store.getCertificate('API.X.AI.').certPem).toBe(first.certPem);
    expect(store.getSecureContext('api.x.ai')).toBe(store.getSecureContext('Api.X.Ai'));
  });

  it('forgets the least recently used host beyond maxHosts', () => {
    const small = new LeafCertificateStore(ca, leafKeys, { maxHosts: 2 });
    const a = small.getCertificate('a.example').certPem;
    const b = small.getCertificate('b.example').certPem;
    expect(small.getCertificate('a.example').certPem).toBe(a); // a is now the most recent
    small.getCertificate('c.example'); // evicts b
    expect(small.getCertificate('a.example').certPem).toBe(a);
    expect(small.getCertificate('b.example').certPem).not.toBe(b);
  });

  it('never lets a leaf outlive the CA, and reissues a cached leaf before it expires', () => {
    let now = new Date(ca.notAfter.getTime() - 10 * DAY_MS);
    const nearCaExpiry = new LeafCertificateStore(ca, leafKeys, { now: () => now });
    const first = nearCaExpiry.getCertificate('api.deepseek.com');
    expect(new Date(new X509Certificate(first.certPem).validTo).getTime()).toBe(Math.floor(ca.notAfter.getTime() / 1000) * 1000);

    now = new Date(ca.notAfter.getTime() - 30 * 60 * 1000);
    expect(nearCaExpiry.getCertificate('api.deepseek.com').certPem).not.toBe(first.certPem);

    now = new Date(ca.notAfter.getTime() + DAY_MS);
    expect(() => nearCaExpiry.getCertificate('api.deepseek.com')).toThrow(/The CA expired on .*restart Bifrost Edge so it renews the CA/);
  });

  it('keeps hostnames longer than 64 characters out of the CN (X.509 limit) but in the SAN', () => {
    const longName = `${'a'.repeat(60)}.example.com`;
    const leaf = new X509Certificate(store.getCertificate(longName).certPem);
    expect(leaf.subject).toBe('O=Bifrost Edge');
    expect(leaf.subjectAltName).toBe(`DNS:${longName}`);
  });

  it('issues wildcard certificates for a leftmost "*" label', () => {
    const leaf = new X509Certificate(store.getCertificate('*.githubcopilot.com').certPem);
    expect(leaf.subjectAltName).toBe('DNS:*.githubcopilot.com');
    expect(leaf.checkHost('api.individual.githubcopilot.com')).toBeUndefined();
    expect(leaf.checkHost('api.githubcopilot.com')).toBe('*.githubcopilot.com');
  });
});

describe('hostname validation', () => {
  it.each([
    ['api.openai.com', 'api.openai.com', false],
    ['API.OpenAI.COM.', 'api.openai.com', false],
    ['_acme.example.com', '_acme.example.com', false],
    ['*.githubcopilot.com', '*.githubcopilot.com', false],
    ['localhost', 'localhost', false],
    ['10.1.2.3', '10.1.2.3', true],
    ['::1', '::1', true],
    ['[2001:DB8::1]', '2001:db8::1', true],
  ])('accepts %j as %j', (input, hostname, isIpAddress) => {
    expect(normalizeHostname(input)).toEqual({ hostname, isIpAddress });
  });

  it.each([
    ['', /the hostname is empty/],
    ['api.openai.com:443', /contains ":".*strip the port/],
    ['bad host.com', /contains " "/],
    ['evil.com/path', /contains "\/"/],
    ['ünicode.example', /contains "ü"/],
    ['a..b.com', /empty label/],
    ['.leading.com', /empty label/],
    [`${'a'.repeat(64)}.com`, /longer than 63 characters/],
    [`${'a.'.repeat(127)}com`, /at most 253/],
    ['*.com', /wildcard must be the whole leftmost label/],
    ['api.*.example.com', /wildcard/],
    ['a*.example.com', /wildcard/],
  ])('rejects %j', (input, message) => {
    expect(() => normalizeHostname(input)).toThrow(InvalidHostnameError);
    expect(() => normalizeHostname(input)).toThrow(message);
    expect(() => store.getCertificate(input)).toThrow(InvalidHostnameError);
  });
});
