import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { caBundlePath, writeCaBundle } from '../../src/installers/edge-paths.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { closedPort } from '../support/ports.js';

/** ca-bundle.pem as a non-empty folder: writing the bundle there fails at its rename. */
function dataDirWithBundleInTheWay(): string {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ca-bundle-'));
  fs.mkdirSync(path.join(caBundlePath(dataDir), 'in-the-way'), { recursive: true });
  return dataDir;
}

const temporaryFiles = (dataDir: string) => fs.readdirSync(dataDir).filter((name) => name.endsWith('.tmp'));

describe('the CA bundle for command-line tools', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('a failed write says why and leaves no temporary file behind', async () => {
    const dataDir = dataDirWithBundleInTheWay();
    await expect(writeCaBundle(dataDir, '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n')).rejects.toThrow(/ca-bundle\.pem/);
    expect(temporaryFiles(dataDir)).toEqual([]);
  });

  it('an agent that cannot write it starts anyway, warns naming the file, and keeps running', async () => {
    const dataDir = dataDirWithBundleInTheWay();
    const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const log: Logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => { warnings.push({ message, fields }); } };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => { process.off('unhandledRejection', onUnhandled); });
    const config = loadConfig({ env: {}, overrides: { dataDir, metrics: { port: null }, proxy: { port: await closedPort() } } });
    const agent = await startAgent(config, { log });
    cleanups.push(() => agent.close());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
    const warning = warnings.find((w) => /CA bundle/.test(w.message));
    expect(warning?.fields).toMatchObject({ path: caBundlePath(dataDir) });
    expect(temporaryFiles(dataDir)).toEqual([]);
  });
});
