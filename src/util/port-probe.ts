import net from 'node:net';

/**
 * Whether a loopback port can be bound right now. http-mitm-proxy never reports its listen error, so
 * the agent probes its port before starting (a taken port would otherwise hang the start).
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
