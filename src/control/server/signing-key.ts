import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import { tightenMode } from '../../ca/private-files.js';
import type { Logger } from '../../log.js';
import { signingKeyId } from '../protocol/bundle-signature.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/**
 * Reads a single Ed25519 bundle-signing key (PKCS#8 PEM), as servers from before key rotation kept
 * it; undefined when the file does not exist. Whoever holds this file can issue policy to every
 * device, so a group/other-readable file is tightened to 0600.
 */
export async function loadSigningKeyFile(file: string, log: Logger): Promise<SigningKey | undefined> {
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the signing key ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check its path and permissions`);
  }
  const note = await tightenMode(file, 0o600);
  if (note) log.warn(`signing key permissions tightened: ${note}`);
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
