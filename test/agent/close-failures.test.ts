import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { closedPort } from '../support/ports.js';

/**
 * A shutdown step that fails must reach the log: the desktop app only logs what close() writes, not
 * what it throws. The first failure is still thrown, for the CLI's exit code.
 */
describe('a shutdown step that fails', () => {
  it('is logged, and still thrown', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-close-failures-'));
    const lines: string[] = [];
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir, metrics: { port: null }, proxy: { port: 0 },
        gateway: { url: `http://127.0.0.1:${await closedPort()}`, virtualKey: 'sk-bf-close-failures-0001' },
      },
    });
    const agent = await startAgent(config, { log: createLogger('info', (line) => lines.push(line)) });
    // runtime.json turned into a non-empty folder: removing it, the first shutdown step, fails.
    const runtimeFile = path.join(dataDir, 'runtime.json');
    fs.rmSync(runtimeFile);
    fs.mkdirSync(path.join(runtimeFile, 'in-the-way'), { recursive: true });

    await expect(agent.close()).rejects.toThrow(/could not close runtime\.json/);
    expect(lines.filter((line) => /could not close runtime\.json/.test(line))).toHaveLength(1);
    expect(fs.existsSync(path.join(dataDir, 'agent.lock'))).toBe(false);
  }, 20_000);
});
