import { createPublicKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LeafCertificateIssuer,
  LeafCertificateStore,
  loadOrCreateCa,
  type CertificateAuthority,
} from '../../src/ca/index.js';
import { closeServer, execFileAsync, makeTempDir, removeTempDirs, startHttpsServer, tlsHandshake } from './support.js';

/**
 * What real verifiers (Node's TLS client and the openssl CLI, both OpenSSL underneath) decide about
 * leaves from a CA limited to AI domains. LeafCertificateStore refuses hosts outside the constraints,
 * so the out-of-bounds leaves here come straight from LeafCertificateIssuer, as an attacker holding
 * the CA key could make them.
 */
let constrainedCa: CertificateAuthority;
let store: LeafCertificateStore;
let issuer: LeafCertificateIssuer;
let workDir: string;
let server: Awaited<ReturnType<typeof startHttpsServer>>;

beforeAll(async () => {
  workDir = await makeTempDir();
  constrainedCa = await loadOrCreateCa({
    dir: path.join(workDir, 'ca'),
    nameConstraints: ['api.openai.com', '.githubcopilot.com'],
    log: () => undefined,
  });
  store = await LeafCertificateStore.create(constrainedCa);
  const leafKeyPem = store.getCertificate('api.openai.com').keyPem;
  issuer = new LeafCertificateIssuer(constrainedCa, createPublicKey(leafKeyPem).export({ type: 'spki', format: 'pem' }).toString());
  // Serves store certificates for permitted names and issuer-made (constraint-violating) ones otherwise.
  server = await startHttpsServer((servername) =>
    servername === 'api.openai.com' || servername.endsWith('.githubcopilot.com')
      ? store.getSecureContext(servername)
      : createSecureContext({ cert: issuer.issue(servername, new Date()).certPem, key: leafKeyPem }),
  );
});

afterAll(async () => {
  await closeServer(server.server);
  await removeTempDirs();
});

async function opensslVerify(leafPem: string): Promise<{ ok: boolean; output: string }> {
  const leafPath = path.join(workDir, `leaf-${Math.random().toString(16).slice(2)}.pem`);
  await writeFile(leafPath, leafPem);
  try {
    const { stdout, stderr } = await execFileAsync('openssl', ['verify', '-CAfile', constrainedCa.certPath, leafPath]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

describe('a CA with name constraints', () => {
  it('carries a critical Name Constraints extension that openssl reads as intended', async () => {
    const { stdout } = await execFileAsync('openssl', ['x509', '-in', constrainedCa.certPath, '-noout', '-text']);
    expect(stdout).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+DNS:\.githubcopilot\.com\s+DNS:api\.openai\.com\s+Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
    expect(stdout).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(stdout).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  it('lets Node’s TLS client accept permitted hosts', async () => {
    expect(await tlsHandshake(server.port, 'api.openai.com', constrainedCa.certPem)).toEqual({ authorized: true });
    expect(await tlsHandshake(server.port, 'api.githubcopilot.com', constrainedCa.certPem)).toEqual({ authorized: true });
    // A whole HTTPS request, as an SDK would make it.
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port: server.port, servername: 'api.openai.com', headers: { host: 'api.openai.com' }, ca: constrainedCa.certPem, path: '/v1/models' }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('ok api.openai.com');
  });

  it('makes Node’s TLS client reject a leaf for a host outside the constraints', async () => {
    // Node does enforce name constraints (OpenSSL X509_V_ERR_PERMITTED_VIOLATION); it has no named code
    // for that error, so it surfaces as UNSPECIFIED with OpenSSL's message.
    expect(await tlsHandshake(server.port, 'evil.example', constrainedCa.certPem)).toEqual({
      authorized: false,
      errorCode: 'UNSPECIFIED',
      errorMessage: 'permitted subtree violation',
    });
    // Suffix tricks do not help: the match is on label boundaries from the right.
    expect((await tlsHandshake(server.port, 'api.openai.com.evil.example', constrainedCa.certPem)).errorMessage).toBe('permitted subtree violation');
    expect((await tlsHandshake(server.port, 'notapi.openai.com', constrainedCa.certPem)).errorMessage).toBe('permitted subtree violation');
    // A leading-dot constraint covers only names below the domain.
    expect((await tlsHandshake(server.port, 'githubcopilot.com', constrainedCa.certPem)).errorMessage).toBe('permitted subtree violation');
  });

  it('makes Node’s TLS client reject an IP-address leaf, because all addresses are excluded', async () => {
    const ipLeaf = { cert: issuer.issue('127.0.0.1', new Date()).certPem, key: store.getCertificate('api.openai.com').keyPem };
    const ipServer = await startHttpsServer(() => createSecureContext(ipLeaf), ipLeaf);
    try {
      expect(await tlsHandshake(ipServer.port, undefined, constrainedCa.certPem)).toEqual({
        authorized: false,
        errorCode: 'UNSPECIFIED',
        errorMessage: 'excluded subtree violation',
      });
    } finally {
      await closeServer(ipServer.server);
    }
  });

  it('agrees with openssl verify', async () => {
    const permitted = await opensslVerify(store.getCertificate('api.openai.com').certPem);
    expect(permitted).toMatchObject({ ok: true });
    expect(permitted.output).toMatch(/: OK/);
    const belowDomain = await opensslVerify(store.getCertificate('*.githubcopilot.com').certPem);
    expect(belowDomain.ok).toBe(true);
    const outside = await opensslVerify(issuer.issue('evil.example', new Date()).certPem);
    expect(outside.ok).toBe(false);
    expect(outside.output).toMatch(/error 47 at 0 depth lookup: permitted subtree violation/);
    const address = await opensslVerify(issuer.issue('10.0.0.1', new Date()).certPem);
    expect(address.output).toMatch(/excluded subtree violation/);
  });

  it('is refused up front by LeafCertificateStore for hosts outside the constraints', () => {
    expect(() => store.getCertificate('evil.example')).toThrow(/may only sign for \[\.githubcopilot\.com, api\.openai\.com\].*Tunnel this host/);
    expect(() => store.getCertificate('githubcopilot.com')).toThrow(/clients would reject a certificate for "githubcopilot\.com"/);
    expect(() => store.getCertificate('127.0.0.1')).toThrow(/name constraints/);
    expect(store.getCertificate('x.api.openai.com').certPem).toMatch(/BEGIN CERTIFICATE/);
  });
});
