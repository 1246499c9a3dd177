import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { processForLoopbackClient } from '../../src/proxy/process-lookup.js';

describe('processForLoopbackClient (Linux /proc)', () => {
  it('names the program at the other end of a loopback connection, and nothing for a port nobody holds', async () => {
    const server = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const child = spawn('python3', ['-c', `import socket,time\ns=socket.create_connection(('127.0.0.1',${port}))\nprint(s.getsockname()[1], flush=True)\ntime.sleep(10)`]);
    try {
      const clientPort = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      expect(await processForLoopbackClient(clientPort, port, 'linux')).toMatch(/^python3/);
      expect(await processForLoopbackClient(1, port, 'linux')).toBeUndefined();
      expect(await processForLoopbackClient(clientPort, port, 'win32')).toBeUndefined();
    } finally {
      child.kill();
      server.close();
    }
  });
});
