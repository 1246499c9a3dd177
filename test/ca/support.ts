import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type SecureContext } from 'node:tls';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

/** Temporary directories made by a test file, removed by `removeTempDirs` in afterAll. */
const tempDirs: string[] = [];

export async function makeTempDir(prefix = 'bifrost-ca-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * A real HTTPS server on 127.0.0.1 choosing its certificate per SNI name, answering "ok <host header>".
 * Clients send no SNI when connecting to an IP address; `withoutSni` is served then.
 */
export async function startHttpsServer(
  secureContextFor: (servername: string) => SecureContext,
  withoutSni?: { cert: string; key: string },
): Promise<{ port: number; server: Server }> {
  const server = createServer(
    {
      ...withoutSni,
      SNICallback: (servername, callback) => {
        try {
          callback(null, secureContextFor(servername));
        } catch (error) {
          callback(error as Error);
        }
      },
    },
    (request, response) => response.end(`ok ${request.headers.host ?? ''}`),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface TlsOutcome {
  authorized: boolean;
  /** Node's error code when the handshake failed, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  errorCode?: string;
  errorMessage?: string;
}

/** Connects like a real client (verification on), trusting only `caPem`, and reports what the verifier decided. */
export async function tlsHandshake(port: number, servername: string | undefined, caPem: string): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: caPem }, () => {
      resolve({ authorized: socket.authorized });
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ authorized: false, errorCode: error.code, errorMessage: error.message }));
  });
}
