import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { probePort } from '../../src/util/port-probe.js';

describe('probePort', () => {
  it('reports a taken port as EADDRINUSE, and a free one (or 0) as free', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    expect((await probePort('127.0.0.1', port))?.code).toBe('EADDRINUSE');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await probePort('127.0.0.1', port)).toBeUndefined();
    expect(await probePort('127.0.0.1', 0)).toBeUndefined();
  });
});
