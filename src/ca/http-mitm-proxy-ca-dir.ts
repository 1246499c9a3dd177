import { createPublicKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CertificateAuthority } from './certificate-authority.js';
import { ensurePrivateDirectory, writeFileAtomically } from './private-files.js';

export interface HttpMitmProxyCaPaths {
  /** Pass as http-mitm-proxy's `sslCaDir` option. */
  sslCaDir: string;
  certPath: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/**
 * Lays out our CA the way http-mitm-proxy 1.1.0's lib/ca.ts loads it (certs/ca.pem, keys/ca.private.key,
 * keys/ca.public.key, all read with node-forge). When certs/ca.pem exists it loads instead of generating
 * its own one-year CA with forge's slow pure-JS keygen. `keys/` is owner-only because http-mitm-proxy
 * also drops per-host private keys there with the default umask if its own certificate path is used.
 */
export async function writeHttpMitmProxyCaDir(ca: CertificateAuthority, dir: string): Promise<HttpMitmProxyCaPaths> {
  const certsDir = path.join(dir, 'certs');
  const keysDir = path.join(dir, 'keys');
  await ensurePrivateDirectory(dir);
  await mkdir(certsDir, { recursive: true, mode: 0o755 });
  await ensurePrivateDirectory(keysDir);
  const paths: HttpMitmProxyCaPaths = {
    sslCaDir: dir,
    certPath: path.join(certsDir, 'ca.pem'),
    privateKeyPath: path.join(keysDir, 'ca.private.key'),
    publicKeyPath: path.join(keysDir, 'ca.public.key'),
  };
  const publicKeyPem = createPublicKey(ca.keyPem).export({ type: 'spki', format: 'pem' }).toString();
  await writeFileAtomically(paths.privateKeyPath, ca.keyPem, 0o600);
  await writeFileAtomically(paths.publicKeyPath, publicKeyPem, 0o644);
  await writeFileAtomically(paths.certPath, ca.certPem, 0o644);
  return paths;
}
