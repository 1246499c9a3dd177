import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { KEY, chat, writePolicyFile } from '../renderer/live-agent.js';

/**
 * The compiled Electron main process (dist/main/main.js), run in Node with `electron` replaced by a
 * recording stand-in (test/tray/fake-electron): Electron's binary cannot be installed here, but everything
 * main.ts does around it — managed config, starting the agent, tray renders, windows, notifications,
 * closing the agent on quit — runs for real.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(root, 'dist', 'main', 'main.js');
const REGISTER = path.join(root, 'test', 'tray', 'fake-electron', 'register.mjs');

type ShellEvent = { event: string } & Record<string, unknown>;

interface MainProcess {
  child: ChildProcess;
  events: ShellEvent[];
  next(match: (e: ShellEvent) => boolean, timeoutMs?: number): Promise<ShellEvent>;
  send(command: Record<string, unknown>): void;
  exited: Promise<number | null>;
  stderr: () => string;
}

function startMain(env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ['--import', REGISTER, MAIN], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: ShellEvent[] = [];
  const waiters: Array<{ match: (e: ShellEvent) => boolean; resolve: (e: ShellEvent) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: ShellEvent;
    try {
      event = JSON.parse(line) as ShellEvent;
    } catch {
      return;
    }
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.match(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let cursor = 0;
  return {
    child,
    events,
    exited,
    stderr: () => stderr,
    send: (command) => child.stdin!.write(`${JSON.stringify(command)}\n`),
    // Each call looks only at events after the one the previous call returned, so steps read in order.
    next(match, timeoutMs = 15_000) {
      const seen = events.slice(cursor).find(match);
      if (seen) {
        cursor = events.indexOf(seen, cursor) + 1;
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching shell event in ${timeoutMs} ms; events: ${JSON.stringify(events)}\nstderr: ${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => { clearTimeout(timer); cursor = events.indexOf(e) + 1; resolve(e); } });
      });
    },
  };
}

const isTray = (e: ShellEvent) => e.event === 'tray';
const menuLabels = (e: ShellEvent) => (e.menu as Array<'---' | { label: string }>).map((i) => (i === '---' ? i : i.label));

describe('Electron main process (with a stand-in for Electron)', () => {
  let standin: BifrostStandin;
  let dataDir: string;
  let main: MainProcess;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-main-'));
    const configFile = path.join(dataDir, 'managed-config.json');
    fs.writeFileSync(configFile, JSON.stringify({ dataDir, logLevel: 'warn', proxy: { port: 0 }, gateway: { url: standin.url }, policyFile: writePolicyFile(dataDir), metrics: { port: null } }));
    main = startMain({ BIFROST_EDGE_CONFIG: configFile });
  });

  afterAll(async () => {
    if (main?.child.exitCode === null) main.child.kill('SIGKILL');
    await standin?.close();
  });

  it('loads the managed config from BIFROST_EDGE_CONFIG, starts the agent in-process and shows its state in the tray', async () => {
    await main.next((e) => e.event === 'dock-hidden');
    const tray = await main.next((e) => isTray(e) && e.tooltip === 'Bifrost Edge: Protecting AI traffic');
    expect(tray.image).toEqual({ png: 'PNG', bytes: expect.any(Number), scaleFactor: 2 });
    expect(menuLabels(tray)).toEqual([
      'Protecting AI traffic',
      "User: ada@example.com · key 'eng-team'",
      expect.stringMatching(/^Policy v7, issued (at|on \d{1,2} \w{3} at) \d\d:\d\d$/),
      '---', 'Open status…', 'Recent activity…', '---', 'Quit Bifrost Edge',
    ]);
    expect(fs.existsSync(path.join(dataDir, 'runtime.json'))).toBe(true);
  });

  it('"Open status…" opens a sandboxed window on the page the agent serves; a second launch shows it again', async () => {
    const proxy = (JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { proxy: string }).proxy;
    main.send({ click: 'open-status' });
    const window = await main.next((e) => e.event === 'window-created');
    expect(window).toMatchObject({ title: 'Bifrost Edge status', webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false } });
    expect(await main.next((e) => e.event === 'load-url')).toMatchObject({ url: `${proxy}/ui/status.html` });
    main.send({ secondInstance: true });
    expect(await main.next((e) => e.event === 'load-url')).toMatchObject({ url: `${proxy}/ui/status.html` });
    expect(await main.next((e) => e.event === 'window-focused')).toMatchObject({ title: 'Bifrost Edge status' });
  });

  it('a blocked request pops up a notification; clicking it opens that notice', async () => {
    const runtime = JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { proxy: string; ca: string };
    expect((await chat(runtime.proxy, fs.readFileSync(runtime.ca, 'utf8'), 'gpt-4o')).status).toBe(403);
    const notification = await main.next((e) => e.event === 'notification' && String(e.title).startsWith('Blocked'));
    expect(notification).toMatchObject({ title: 'Blocked: gpt-4o is not allowed', body: expect.stringContaining("Your key 'eng-team' does not allow gpt-4o") });
    const index = main.events.filter((e) => e.event === 'notification').indexOf(notification);
    main.send({ clickNotification: index });
    expect(await main.next((e) => e.event === 'load-url')).toMatchObject({ url: expect.stringMatching(new RegExp(`^${runtime.proxy}/ui/notice\\.html\\?id=[0-9a-f-]{36}$`)) });
  });

  it('"Quit" closes the agent before the process exits', async () => {
    main.send({ click: 'quit' });
    await main.next((e) => e.event === 'quit-deferred');
    await main.next((e) => e.event === 'exit');
    expect(await main.exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);
  });
});

describe('Electron main process: a broken managed config', () => {
  it('shows an error dialog and an "off" tray that says why, instead of dying silently', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-main-bad-'));
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, '{"mode": "gateway"}');
    const main = startMain({ BIFROST_EDGE_CONFIG: configFile });
    try {
      const box = await main.next((e) => e.event === 'error-box');
      expect(box.title).toBe('Bifrost Edge could not start');
      expect(box.content).toMatch(/mode is "gateway" but no gateway is configured[\s\S]*environment variable BIFROST_EDGE_CONFIG/);
      const tray = main.events.find(isTray)!;
      expect(tray.tooltip).toMatch(/^Bifrost Edge: Bifrost Edge could not start: mode is "gateway" but no gateway/);
      expect(menuLabels(tray)).toContain('Quit Bifrost Edge');
      main.send({ click: 'quit' });
      expect(await main.exited).toBe(0);
    } finally {
      if (main.child.exitCode === null) main.child.kill('SIGKILL');
    }
  });
});

describe('Electron main process: the proxy port is taken', () => {
  it('says which port and what to do', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-main-port-'));
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ dataDir: dir, proxy: { port }, metrics: { port: null } }));
    const main = startMain({ BIFROST_EDGE_CONFIG: configFile });
    try {
      const box = await main.next((e) => e.event === 'error-box');
      expect(box.content).toMatch(new RegExp(`EADDRINUSE[\\s\\S]*Port ${port} is in use: is \`bifrost-edge run\` already running\\?`));
      expect(main.events.find(isTray)!.tooltip).toMatch(/^Bifrost Edge: Bifrost Edge could not start: .*EADDRINUSE/);
    } finally {
      main.child.kill('SIGKILL');
      blocker.close();
    }
  });
});

describe('Electron main process: a second copy', () => {
  it('quits at once without starting another agent (the first copy shows its window instead)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-main-second-'));
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ dataDir: dir, proxy: { port: 0 }, metrics: { port: null } }));
    const main = startMain({ BIFROST_EDGE_CONFIG: configFile, FAKE_ELECTRON_SECOND_INSTANCE: '1' });
    expect(await main.exited).toBe(0);
    expect(main.events.map((e) => e.event)).toEqual(['exit']);
    expect(fs.existsSync(path.join(dir, 'runtime.json'))).toBe(false);
  });
});
