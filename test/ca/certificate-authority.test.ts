import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, cp, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type LoadOrCreateCaOptions } from '../../src/ca/index.js';
import { makeTempDir, removeTempDirs } from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * RSA key generation dominates these tests, so two CAs are made once and copied into a fresh
 * directory per test; only tests that must make a new CA pay for a key.
 */
let baselineDir: string;
let otherDeviceDir: string;

beforeAll(async () => {
  [baselineDir, otherDeviceDir] = await Promise.all([makeTempDir(), makeTempDir()]);
  await Promise.all([loadOrCreateCa({ dir: baselineDir, log: () => undefined }), loadOrCreateCa({ dir: otherDeviceDir, log: () => undefined })]);
});

afterAll(removeTempDirs);

/** A fresh directory holding a copy of the baseline CA. */
async function copyOfBaseline(): Promise<string> {
  const dir = path.join(await makeTempDir(), 'ca');
  await cp(baselineDir, dir, { recursive: true });
  return dir;
}

function modeOf(file: string): Promise<number> {
  return stat(file).then((info) => info.mode & 0o777);
}

async function load(dir: string, extra: Partial<LoadOrCreateCaOptions> = {}) {
  const logs: string[] = [];
  const ca = await loadOrCreateCa({ dir, log: (msg) => logs.push(msg), ...extra });
  return { ca, logs };
}

/** forge's parsed view of one extension, or null when the certificate lacks it. */
function extension(cert: forge.pki.Certificate, name: string): Record<string, unknown> | null {
  return (cert.getExtension(name) ?? null) as Record<string, unknown> | null;
}

describe('loadOrCreateCa', () => {
  it('creates a 10-year root CA with owner-only key and directory', async () => {
    const dir = path.join(await makeTempDir(), 'nested', 'ca');
    const now = new Date();
    const { ca, logs } = await load(dir);

    expect(ca.certPath).toBe(path.join(dir, 'ca.pem'));
    expect(ca.keyPath).toBe(path.join(dir, 'ca-key.pem'));
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(ca.keyPath)).toBe(0o600);
    expect(await modeOf(ca.certPath)).toBe(0o644);
    expect(await readFile(ca.certPath, 'utf8')).toBe(ca.certPem);
    expect(await readFile(ca.keyPath, 'utf8')).toBe(ca.keyPem);

    const x509 = new X509Certificate(ca.certPem);
    const lifetimeYears = (ca.notAfter.getTime() - now.getTime()) / (365.25 * DAY_MS);
    expect(lifetimeYears).toBeGreaterThan(9.99);
    expect(lifetimeYears).toBeLessThan(10.01);
    expect(new Date(x509.validFrom).getTime()).toBeLessThan(now.getTime());
    expect(x509.ca).toBe(true);
    expect(x509.subject).toMatch(/^CN=Bifrost Edge Local CA [0-9a-f]{6}\nO=Bifrost Edge$/);
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(ca.fingerprintSha256).toBe(x509.fingerprint256);
    // 16 random bytes, positive: first byte in 01..7f.
    expect(x509.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);

    const basicConstraints = extension(ca.cert, 'basicConstraints');
    expect(basicConstraints).toMatchObject({ critical: true, cA: true, pathLenConstraint: 0 });
    const keyUsage = extension(ca.cert, 'keyUsage');
    expect(keyUsage).toMatchObject({ critical: true, keyCertSign: true, cRLSign: true, digitalSignature: false });
    expect(extension(ca.cert, 'subjectKeyIdentifier')).toBeTruthy();
    expect(extension(ca.cert, 'nameConstraints')).toBeFalsy();

    expect(logs.join('\n')).toMatch(/Created CA/);
    expect(logs.join('\n')).not.toMatch(/PRIVATE KEY/);
  });

  it('reuses the CA on later runs and gives each device a different one', async () => {
    const dir = await copyOfBaseline();
    const first = await load(dir);
    const second = await load(dir);
    expect(first.logs).toEqual([]);
    expect(second.ca.fingerprintSha256).toBe(first.ca.fingerprintSha256);
    expect(second.ca.keyPem).toBe(first.ca.keyPem);
    expect(second.logs).toEqual([]);

    const otherDevice = await load(otherDeviceDir);
    expect(otherDevice.ca.fingerprintSha256).not.toBe(first.ca.fingerprintSha256);
    expect(otherDevice.ca.cert.subject.getField('CN').value).not.toBe(first.ca.cert.subject.getField('CN').value);
  });

  it('tightens a key file and directory that became readable by others', async () => {
    const dir = await copyOfBaseline();
    const { ca } = await load(dir);
    await chmod(ca.keyPath, 0o644);
    await chmod(dir, 0o755);
    const again = await load(dir);
    expect(again.ca.fingerprintSha256).toBe(ca.fingerprintSha256);
    expect(await modeOf(ca.keyPath)).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o700);
    expect(again.logs.join('\n')).toMatch(/ca-key\.pem had mode 644; set to 600/);
  });

  it('renews a CA that expires within renewBeforeDays and keeps the old files', async () => {
    const dir = await copyOfBaseline();
    const { ca: old } = await load(dir);

    const stillFine = await load(dir, { now: () => new Date(old.notAfter.getTime() - 91 * DAY_MS) });
    expect(stillFine.ca.fingerprintSha256).toBe(old.fingerprintSha256);

    const nearExpiry = new Date(old.notAfter.getTime() - 30 * DAY_MS);
    const { ca: renewed, logs } = await load(dir, { now: () => nearExpiry });
    expect(renewed.fingerprintSha256).not.toBe(old.fingerprintSha256);
    expect((renewed.notAfter.getTime() - nearExpiry.getTime()) / (365.25 * DAY_MS)).toBeCloseTo(10, 1);
    expect(logs.join('\n')).toMatch(/Replacing CA .*expires on .*within 90 days/);
    expect(await readFile(path.join(dir, 'ca.pem.old'), 'utf8')).toBe(old.certPem);
    expect(await readFile(path.join(dir, 'ca-key.pem.old'), 'utf8')).toBe(old.keyPem);
    expect(await modeOf(path.join(dir, 'ca-key.pem.old'))).toBe(0o600);
    expect(await modeOf(renewed.keyPath)).toBe(0o600);
  });

  it('replaces an expired CA, honouring renewBeforeDays and validityYears', async () => {
    const dir = await copyOfBaseline();
    const { ca: old } = await load(dir);
    const afterExpiry = new Date(old.notAfter.getTime() + DAY_MS);
    const { ca, logs } = await load(dir, { now: () => afterExpiry, renewBeforeDays: 0, validityYears: 2 });
    expect(ca.fingerprintSha256).not.toBe(old.fingerprintSha256);
    expect(logs.join('\n')).toMatch(/expired on/);
    expect((ca.notAfter.getTime() - afterExpiry.getTime()) / (365.25 * DAY_MS)).toBeCloseTo(2, 1);
  });

  it.each([
    ['a corrupt certificate', async (dir: string) => writeFile(path.join(dir, 'ca.pem'), 'not a certificate\n'), /corrupt/],
    ['a corrupt key', async (dir: string) => writeFile(path.join(dir, 'ca-key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), /corrupt/],
    ['a missing key', async (dir: string) => unlink(path.join(dir, 'ca-key.pem')), /ca-key\.pem is missing/],
    [
      'a key from another CA',
      async (dir: string) => writeFile(path.join(dir, 'ca-key.pem'), await readFile(path.join(otherDeviceDir, 'ca-key.pem'))),
      /does not belong to ca\.pem/,
    ],
  ])('regenerates the CA after %s', async (_label, damage, expectedReason) => {
    const dir = await copyOfBaseline();
    const { ca: old } = await load(dir);
    await damage(dir);
    const { ca, logs } = await load(dir);
    expect(ca.fingerprintSha256).not.toBe(old.fingerprintSha256);
    expect(logs.join('\n')).toMatch(expectedReason);
    expect(new X509Certificate(ca.certPem).checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(await modeOf(ca.keyPath)).toBe(0o600);
    // Reason strings come from parsers; they must never carry key material.
    expect(logs.join('\n')).not.toMatch(/PRIVATE KEY|AAAA/);
  });

  it('adds a critical Name Constraints extension and replaces the CA when the list changes', async () => {
    const dir = await copyOfBaseline();
    const { ca, logs } = await load(dir, { nameConstraints: ['API.OpenAI.com', '.githubcopilot.com'] });
    expect(logs.join('\n')).toMatch(/limited to no names \(unconstrained\) but \[\.githubcopilot\.com, api\.openai\.com\] was requested/);
    const nameConstraints = ca.cert.extensions.find((ext: { id: string }) => ext.id === '2.5.29.30') as
      | { critical: boolean; permittedSubtrees?: Array<{ type: number; value: string }>; excludedSubtrees?: Array<{ type: number }> }
      | undefined;
    expect(nameConstraints?.critical).toBe(true);
    // forge 1.4 parses the extension back: the DER we built is well-formed.
    expect(nameConstraints?.permittedSubtrees).toEqual([
      { type: 2, value: '.githubcopilot.com' },
      { type: 2, value: 'api.openai.com' },
    ]);
    expect(nameConstraints?.excludedSubtrees?.map((subtree) => subtree.type)).toEqual([7, 7]);

    const same = await load(dir, { nameConstraints: ['.githubcopilot.com', 'api.openai.com'] });
    expect(same.ca.fingerprintSha256).toBe(ca.fingerprintSha256);

    const widened = await load(dir, { nameConstraints: ['api.openai.com', '.githubcopilot.com', 'api.anthropic.com'] });
    expect(widened.ca.fingerprintSha256).not.toBe(ca.fingerprintSha256);
    expect(widened.logs.join('\n')).toMatch(/limited to \[\.githubcopilot\.com, api\.openai\.com\] but \[\.githubcopilot\.com, api\.anthropic\.com, api\.openai\.com\]/);
  });

  it.each([
    [{ nameConstraints: ['*.openai.com'] }, /Invalid CA name constraint "\*\.openai\.com"/],
    [{ nameConstraints: ['api.openai.com:443'] }, /Invalid CA name constraint/],
    [{ nameConstraints: [] }, /nameConstraints is empty/],
    [{ validityYears: 0 }, /validityYears must be a whole number/],
    [{ validityYears: 1, renewBeforeDays: 400 }, /renewBeforeDays must be between 0 and the CA lifetime \(365 days\)/],
  ])('rejects bad options %j with a clear error', async (options, message) => {
    const dir = await makeTempDir();
    await expect(loadOrCreateCa({ dir, log: () => undefined, ...options })).rejects.toThrow(message);
  });
});
