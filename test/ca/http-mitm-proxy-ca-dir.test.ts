import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CA as HttpMitmProxyCa } from 'http-mitm-proxy/dist/lib/ca.js';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, writeHttpMitmProxyCaDir } from '../../src/ca/index.js';
import { makeTempDir, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

describe('writeHttpMitmProxyCaDir', () => {
  it('writes the layout http-mitm-proxy loads, so it uses our CA instead of generating its own', async () => {
    const ca = await loadOrCreateCa({ dir: await makeTempDir(), log: () => undefined });
    const sslCaDir = path.join(await makeTempDir(), 'mitm');
    const paths = await writeHttpMitmProxyCaDir(ca, sslCaDir);

    expect(paths).toEqual({
      sslCaDir,
      certPath: path.join(sslCaDir, 'certs', 'ca.pem'),
      privateKeyPath: path.join(sslCaDir, 'keys', 'ca.private.key'),
      publicKeyPath: path.join(sslCaDir, 'keys', 'ca.public.key'),
    });
    const mode = async (file: string) => (await stat(file)).mode & 0o777;
    expect(await mode(paths.privateKeyPath)).toBe(0o600);
    expect(await mode(path.join(sslCaDir, 'keys'))).toBe(0o700);
    expect(await mode(sslCaDir)).toBe(0o700);
    expect(await readFile(paths.certPath, 'utf8')).toBe(ca.certPem);

    // Load it with http-mitm-proxy's own loader (lib/ca.ts) and check it took our CA and key.
    const loaded = await new Promise<HttpMitmProxyCa>((resolve, reject) =>
      HttpMitmProxyCa.create(sslCaDir, (error: unknown, result: HttpMitmProxyCa) => (error ? reject(error as Error) : resolve(result))),
    );
    expect(new X509Certificate(loaded.getPem()).fingerprint256).toBe(ca.fingerprintSha256);
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.checkPrivateKey(createPrivateKey(await readFile(paths.privateKeyPath, 'utf8')))).toBe(true);
    expect(loaded.CAkeys.publicKey.n.toString(16)).toBe((ca.cert.publicKey as typeof loaded.CAkeys.publicKey).n.toString(16));
  });
});
