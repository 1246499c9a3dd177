import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { closedPort } from '../support/ports.js';

/**
 * A start that fails at its last step (runtime.json cannot be written) must close everything it had
 * opened: databases, the proxy's listener, the lock, and the Edge Control client's background traffic.
 */
describe('a failed start', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  /** Files of `dir` this process holds open (Linux /proc; elsewhere none are known). */
  const openFilesUnder = (dir: string): string[] => (fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd') : [])
    .map((fd) => { try { return fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } })
    .filter((file) => file.startsWith(dir));

  const accepts = (port: number) => new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });

  it('leaves nothing open or running behind it', async () => {
    const controlHits: number[] = [];
    const control = http.createServer((req, res) => {
      controlHits.push(Date.now());
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { control.closeAllConnections(); control.close(() => resolve()); }));

    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-failed-start-'));
    // runtime.json as a non-empty folder: writing it, the start's last step, fails.
    fs.mkdirSync(path.join(dataDir, 'runtime.json', 'in-the-way'), { recursive: true });
    const port = await closedPort();
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir, metrics: { port: null }, proxy: { port },
        control: { url: `http://127.0.0.1:${(control.address() as AddressInfo).port}`, enrollment: 'virtual_key' },
        gateway: { url: `http://127.0.0.1:${await closedPort()}`, virtualKey: 'sk-bf-failed-start-0001' },
      },
    });
    await expect(startAgent(config, { log: silentLogger })).rejects.toThrow(/runtime\.json/);
    const failedAt = Date.now();

    expect(openFilesUnder(dataDir)).toEqual([]);
    expect(await accepts(port)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'agent.lock'))).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    // An enrollment sent just before the failure may land a moment after it; a client left running
    // would come back after its retry delay (1 s and up), within these 4 s.
    expect(controlHits.filter((at) => at > failedAt + 250)).toEqual([]);
  }, 20_000);
});
