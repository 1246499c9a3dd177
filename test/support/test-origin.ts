import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadOrCreateCa } from '../../src/ca/certificate-authority.js';
import { LeafCertificateStore } from '../../src/ca/leaf-certificates.js';

export interface TestOrigin {
  url: string;
  port: number;
  /** PEM of the origin's own CA: clients that trust only Edge's CA must not trust this origin. */
  caPem: string;
  caPath: string;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 with a certificate from its own private CA: stands in for a
 * provider origin (local mode) or any non-AI site (blind tunnel tests).
 */
export async function startTestOrigin(handler: http.RequestListener): Promise<TestOrigin> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-origin-ca-'));
  const ca = await loadOrCreateCa({ dir, commonName: 'Test Origin CA', log: () => {} });
  const leaves = await LeafCertificateStore.create(ca);
  const leaf = leaves.getCertificate('127.0.0.1');
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem, SNICallback: (name, cb) => cb(null, leaves.getSecureContext(name)) }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caPem: ca.certPem,
    caPath: ca.certPath,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
