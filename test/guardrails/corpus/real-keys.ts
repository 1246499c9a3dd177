/**
 * Real private keys, made fresh for each test run, in the exact formats people paste. Fake key blocks of
 * random base64 miss what real ones share: an unencrypted OpenSSH key starts with a fixed header that
 * encodes to a run of `A`s, which a placeholder check once mistook for `AAAAAAAA`.
 *
 * The OpenSSH encoder is written here (it is what `ssh-keygen` writes for an unencrypted ed25519 key,
 * PROTOCOL.key in OpenSSH's sources) so the tests need no ssh-keygen; where ssh-keygen is installed its keys
 * of every type are added too.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RealKey {
  name: string;
  /** The whole file, as it would be pasted. */
  text: string;
}

const sshString = (value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

const uint32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

/** An unencrypted `openssh-key-v1` ed25519 private key, byte for byte the layout ssh-keygen writes. */
export function opensshEd25519Key(comment = 'dev@laptop'): string {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let privateSection = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (8 - (privateSection.length % 8)) % 8 }, (_, i) => i + 1));
  privateSection = Buffer.concat([privateSection, padding]);
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(privateSection),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // `ssh-keygen -?` prints usage and exits 1: it exists. ENOENT: it does not.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Keys from ssh-keygen itself, one per type, when it is installed; an empty list otherwise. */
export function sshKeygenKeys(): RealKey[] {
  if (!hasSshKeygen()) return [];
  const dir = mkdtempSync(join(tmpdir(), 'edge-ssh-keys-'));
  try {
    return [
      ['ed25519', []],
      ['ecdsa', ['-b', '256']],
      ['rsa', ['-b', '2048']],
    ].map(([type, extra]) => {
      const file = join(dir, `id_${type as string}`);
      execFileSync('ssh-keygen', ['-q', '-t', type as string, ...(extra as string[]), '-N', '', '-C', 'dev@laptop', '-f', file], { stdio: 'ignore' });
      return { name: `ssh-keygen ${type as string}`, text: readFileSync(file, 'utf8') };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PEM keys from Node's own crypto: PKCS#1 RSA, PKCS#8 RSA / EC / ed25519. */
export function pemKeys(): RealKey[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return [
    { name: 'PKCS#1 RSA', text: rsa.export({ type: 'pkcs1', format: 'pem' }) as string },
    { name: 'PKCS#8 RSA', text: rsa.export({ type: 'pkcs8', format: 'pem' }) as string },
    { name: 'PKCS#8 EC', text: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
    { name: 'SEC1 EC', text: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string },
    { name: 'PKCS#8 ed25519', text: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
  ];
}

export function realPrivateKeys(): RealKey[] {
  return [{ name: 'OpenSSH ed25519 (encoded here)', text: opensshEd25519Key() }, ...sshKeygenKeys(), ...pemKeys()];
}
