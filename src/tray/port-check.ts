import net from 'node:net';

/**
 * Whether the proxy port can be bound, tried just before the agent starts. startAgent does not reject
 * when its port is taken (http-mitm-proxy never reports the listen error), so without this check the app
 * would wait forever with a grey icon; with it, the person learns which port and what to do.
 * Resolves with the bind error (EADDRINUSE, EACCES) or undefined when the port is free (or 0: any port).
 */
export function probePort(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
