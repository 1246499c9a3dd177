import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirectory, tightenMode, writeFileAtomically } from '../../ca/private-files.js';
import type { Logger } from '../../log.js';
import { signingKeyId } from '../protocol/bundle-signature.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/**
 * Loads the Ed25519 bundle-signing key, creating it (PKCS#8 PEM, mode 0600) on first start. Whoever
 * holds this file can issue policy to every device, so a group/other-readable file is tightened.
 */
export async function loadOrCreateSigningKey(file: string, log: Logger): Promise<SigningKey> {
  let pem: string | undefined;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the signing key ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check its path and permissions`);
    }
  }
  if (pem === undefined) {
    const note = await ensurePrivateDirectory(path.dirname(file));
    if (note) log.warn(note);
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFileAtomically(file, pem, 0o600);
    log.info('created a new Ed25519 policy signing key', { file });
  } else {
    const note = await tightenMode(file, 0o600);
    if (note) log.warn(`signing key permissions tightened: ${note}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`the signing key ${file} is not a readable private key PEM (${(err as Error).message}); replace it with: openssl genpkey -algorithm ed25519 -out ${file}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the signing key ${file} is ${privateKey.asymmetricKeyType ?? 'unknown'}, not Ed25519; replace it with: openssl genpkey -algorithm ed25519 -out ${file}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: signingKeyId(publicKey) };
}
