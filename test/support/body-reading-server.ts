import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestBodyError } from '../../src/proxy/request-body.js';

/** What a body reader made of one request: what it read, or its refusal, and how long it took. */
export interface BodyReadOutcome<T> {
  read?: T;
  error?: RequestBodyError;
  ms: number;
}

export interface BodyReadingServer<T> {
  port: number;
  /** The latest request's outcome, once its reading started (undefined before). */
  latest(): Promise<BodyReadOutcome<T>> | undefined;
  /** Forgets the latest outcome, before the next request. */
  forget(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 whose requests' bodies are read by `read` (a body reader of the proxy's), answering
 * the refusal's status or 200. Like the proxy's servers it has no bound on a whole request (edge-proxy.ts), so only
 * the reader's own bounds end a slow body.
 */
export async function startBodyReadingServer<T>(read: (req: http.IncomingMessage) => Promise<T>): Promise<BodyReadingServer<T>> {
  let outcome: Promise<BodyReadOutcome<T>> | undefined;
  const server = http.createServer((req, res) => {
    const started = Date.now();
    outcome = read(req).then(
      (value) => ({ read: value, ms: Date.now() - started }),
      (error: RequestBodyError) => ({ error, ms: Date.now() - started }),
    );
    void outcome.then(({ error }) => {
      res.writeHead(error?.edge.status ?? 200);
      res.end();
    });
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    latest: () => outcome,
    forget: () => {
      outcome = undefined;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Opens a POST to the server with `headers`, its body left to the caller; `status` is the answer's (0: none came). */
export function openPost(port: number, headers: http.OutgoingHttpHeaders): { req: http.ClientRequest; status: Promise<number> } {
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers });
  const status = new Promise<number>((resolve) => {
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
  });
  return { req, status };
}
