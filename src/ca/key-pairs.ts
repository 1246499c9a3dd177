import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface PemKeyPair {
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"); node-forge, OpenSSL and Node's tls all read it. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). */
  publicKeyPem: string;
}

/**
 * Generates an RSA-2048 key pair with node:crypto on the libuv thread pool.
 * Why not node-forge's keygen: it is pure JS and blocks the event loop for seconds, which is exactly
 * what stalls http-mitm-proxy on every new host. RSA (not EC) because node-forge can only put RSA
 * public keys into the certificates it builds.
 */
export async function generateRsaKeyPair(): Promise<PemKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
