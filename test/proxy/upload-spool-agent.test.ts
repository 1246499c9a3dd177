import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { removeLeftoverUploads } from '../../src/proxy/upload-spool.js';
import { tlsThroughProxy } from '../support/proxy-clients.js';
import { startTestOrigin, type TestOrigin } from '../support/test-origin.js';
import { until } from '../support/until.js';

/**
 * A running agent's spooled uploads (its data dir's uploads/): what a killed Edge left is gone once the next one
 * starts, whichever process holds the dead one's pid now; a client that leaves while the inspectors run ends
 * as client_aborted; and the proxy's servers do not cut off a long upload as a whole.
 */

const MiB = 1024 * 1024;
let origin: TestOrigin;
let agent: RunningAgent;
let dataDir: string;
let caPem: string;
let holder: ChildProcess;
const records: ExchangeRecord[] = [];
const proxyServers: Array<http.Server | https.Server> = [];
/** Inspections of image edits wait for this (a slow inspector), when set. */
let inspection: { entered: () => void; release: Promise<void> } | undefined;
const leftovers: string[] = [];
/** Requests the origin received. */
let originRequests = 0;

const uploadsDir = () => path.join(dataDir, 'uploads');
const inUploads = () => (fs.existsSync(uploadsDir()) ? fs.readdirSync(uploadsDir()) : []);
const spoolFiles = () => inUploads().filter((name) => name.startsWith('bifrost-edge-upload-'));

beforeAll(async () => {
  origin = await startTestOrigin((req, res) => {
    originRequests++;
    req.resume();
    req.once('end', () => res.end('{"created":1,"data":[]}'));
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-upload-spool-agent-'));
  // What an Edge killed mid-upload left: one file named after a pid that no longer runs, one after a pid a
  // running process holds now (reused). Beside them what is not Edge's to remove: a file of the user's (a data
  // directory they chose may hold an `uploads` of their own) and a directory.
  holder = spawn('sleep', ['60']);
  const dead = spawnSync('true').pid;
  fs.mkdirSync(uploadsDir(), { mode: 0o700 });
  for (const name of [`bifrost-edge-upload-${dead}-a`, `bifrost-edge-upload-${holder.pid}-b`]) {
    fs.writeFileSync(path.join(uploadsDir(), name), 'a prompt and an image of a killed Edge');
    leftovers.push(name);
  }
  fs.writeFileSync(path.join(uploadsDir(), 'notes.txt'), 'the user\'s own file');
  fs.mkdirSync(path.join(uploadsDir(), 'run-1'));
  fs.writeFileSync(path.join(uploadsDir(), 'run-1', 'part'), 'x');
  const config = loadConfig({
    env: {},
    overrides: { dataDir, logLevel: 'silent', mode: 'local', proxy: { port: 0 }, metrics: { port: null }, upstream: { caFile: origin.caPath, originOverrides: { 'api.openai.com': origin.url } } },
  });
  // The servers http-mitm-proxy creates for the proxy (as Node's http and https modules create them).
  for (const module of [http, https] as const) {
    const create = module.createServer.bind(module) as (...args: unknown[]) => http.Server;
    vi.spyOn(module, 'createServer').mockImplementation(((...args: unknown[]) => {
      const server = create(...args);
      proxyServers.push(server);
      return server;
    }) as never);
  }
  agent = await startAgent(config, {
    log: silentLogger,
    onRecord: (record) => records.push(record),
    inspectors: [async ({ info }) => {
      if (inspection !== undefined && info.path.includes('/images/edits')) {
        inspection.entered();
        await inspection.release;
      }
      return { action: 'allow' };
    }],
  });
  vi.restoreAllMocks();
  caPem = fs.readFileSync(agent.caPath, 'utf8');
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  holder?.kill();
  await agent?.close();
  await origin?.close();
});

describe('an agent\'s spooled uploads', () => {
  it('what a killed Edge left in uploads/ is removed when the next one starts, before any upload; nothing else is', () => {
    expect(leftovers).toHaveLength(2);
    expect(fs.statSync(uploadsDir()).mode & 0o777).toBe(0o700);
    expect(inUploads().sort()).toEqual(['notes.txt', 'run-1']);
    expect(fs.readFileSync(path.join(uploadsDir(), 'run-1', 'part'), 'utf8')).toBe('x');
  });

  it('the proxy\'s servers have no bound on a whole request (Node\'s 300 s would cut a slow upload off)', () => {
    expect(proxyServers.length).toBeGreaterThanOrEqual(2);
    for (const server of proxyServers) expect(server.requestTimeout).toBe(0);
  });

  it('a client that leaves while the inspectors run ends as client_aborted, not as an internal error, and nothing is sent', async () => {
    let entered!: () => void;
    const inspecting = new Promise<void>((resolve) => { entered = resolve; });
    let release!: () => void;
    inspection = { entered, release: new Promise<void>((resolve) => { release = resolve; }) };
    const body = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na hat\r\n--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-image-1\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'),
      Buffer.alloc(3 * MiB, 7),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const { socket } = await tlsThroughProxy(agent.proxyUrl, 'api.openai.com', 443, { ca: caPem });
    socket.on('error', () => {});
    socket.write(`POST /v1/images/edits HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    await inspecting;
    expect(spoolFiles()).toHaveLength(1);
    socket.destroy();
    // The response's close removes the spool while the inspector still runs.
    expect(await until(() => spoolFiles().length === 0)).toBe(true);
    const before = records.length;
    release();
    inspection = undefined;
    expect(await until(() => records.length > before)).toBe(true);
    expect(records.at(-1)).toMatchObject({ path: '/v1/images/edits', errorType: 'client_aborted' });
    expect(records.at(-1)!.decision).not.toBe('failed');
    expect(originRequests).toBe(0);
  });
});

describe('removeLeftoverUploads', () => {
  it('keeps an uploads/ that links to another folder as a link, and removes only spool files there', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-upload-link-'));
    try {
      const elsewhere = path.join(root, 'elsewhere');
      fs.mkdirSync(elsewhere);
      fs.writeFileSync(path.join(elsewhere, 'keep.txt'), 'theirs');
      fs.writeFileSync(path.join(elsewhere, 'bifrost-edge-upload-1-x'), 'a leftover spool');
      const link = path.join(root, 'uploads');
      fs.symlinkSync(elsewhere, link);
      removeLeftoverUploads(link);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(fs.readdirSync(elsewhere)).toEqual(['keep.txt']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
