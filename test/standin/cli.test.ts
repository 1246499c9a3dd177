/** The stand-in as a command: argument parsing in-process, and the compiled entry as a child process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

import { parseStandinArgs, runStandinCli } from '../support/bifrost-standin-cli.js';
import { call } from './helpers.js';

const compiled = fileURLToPath(new URL('../../dist/test/support/bifrost-standin-cli.js', import.meta.url));

describe('parseStandinArgs', () => {
  it('defaults to any port and the demo key', () => {
    expect(parseStandinArgs([])).toEqual({ port: 0, virtualKeys: ['sk-bf-demo-0000'], requireVirtualKey: true, help: false });
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    expect(parseStandinArgs(['--port', '8080', '--vk', 'sk-bf-a', '--vk=sk-bf-b', '--chunks=3', '--delay-ms', '200', '--no-require-vk'])).toEqual({
      port: 8080, virtualKeys: ['sk-bf-a', 'sk-bf-b'], chunks: 3, delayMs: 200, requireVirtualKey: false, help: false,
    });
  });

  it('says what is wrong with bad arguments', () => {
    expect(() => parseStandinArgs(['--port', 'abc'])).toThrow(/--port needs a whole number/);
    expect(() => parseStandinArgs(['--port'])).toThrow(/got nothing/);
    expect(() => parseStandinArgs(['--vk', 'sk-proj-1'])).toThrow(/starting with sk-bf-/);
    expect(() => parseStandinArgs(['--verbose'])).toThrow(/unknown argument "--verbose"[\s\S]*usage:/);
  });
});

describe('runStandinCli', () => {
  it('prints one ready line and logs answered requests with masked keys', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const standin = await runStandinCli(['--vk', 'sk-bf-cli-test-1234'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    expect(standin).not.toBeNull();
    try {
      expect(out).toHaveLength(1);
      const ready = JSON.parse(out[0] ?? '') as { event: string; url: string };
      expect(ready).toEqual({ event: 'ready', url: standin?.url });
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await call(ready.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { 'x-bf-vk': 'sk-bf-cli-test-1234', 'x-bf-lh-user': 'carol' });
      expect(r.status).toBe(200);
      await standin?.waitForRequest((x) => x.status !== undefined);
      const line = JSON.parse(err.at(-1) ?? '') as Record<string, unknown>;
      expect(line).toMatchObject({ event: 'request', method: 'POST', path: '/v1/chat/completions', status: 200, vk: 'sk-bf-cl…1234', log_headers: { user: 'carol' } });
      expect(err.join('\n')).not.toContain('sk-bf-cli-test-1234');
    } finally {
      await standin?.close();
    }
  });

  it('--help prints usage and starts nothing', async () => {
    const out: string[] = [];
    expect(await runStandinCli(['--help'], { stdout: (l) => out.push(l), stderr: () => undefined })).toBeNull();
    expect(out[0]).toMatch(/^usage: bifrost-standin/);
  });
});

describe('compiled entry (dist/test/support/bifrost-standin-cli.js)', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`prints ready, serves, and exits 0 on ${signal}`, async () => {
      const child = spawn(process.execPath, [compiled, '--port', '0', '--vk', 'sk-bf-child-0001'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const stdout = createInterface({ input: child.stdout });
        const first = await new Promise<string>((resolve, reject) => {
          stdout.once('line', resolve);
          child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
        });
        const ready = JSON.parse(first) as { event: string; url: string };
        expect(ready.event).toBe('ready');
        const r = await call(ready.url, 'GET', '/api/governance/virtual-keys/quota', undefined, { 'x-bf-vk': 'sk-bf-child-0001' });
        expect(r.status).toBe(200);
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill(signal);
        expect(await exited).toBe(0);
        expect(stderr).toContain('"event":"stopping"');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});
