import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfiguredCaFiles } from '../../src/config/configured-files.js';
import { TEST_MACHINE_CONFIG_ENV } from '../../src/config/managed-config-locations.js';
import { EDGE_BIN } from '../support/edge-process.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-configured-files-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `bifrost-edge run` with `config` (as --config, or as the managed file) until it exits; killed after 20 s if it starts instead. */
async function runEdge(config: Record<string, unknown>, as: 'config' | 'managed' = 'config'): Promise<{ code: number | null; message: string }> {
  const dir = tempDir();
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ metrics: { port: null }, ...config }));
  const args = [EDGE_BIN, 'run', '--data-dir', path.join(dir, 'data'), '--port', '0', '--log-level', 'silent', ...(as === 'config' ? ['--config', file] : [])];
  const env = { ...process.env, ...(as === 'managed' ? { [TEST_MACHINE_CONFIG_ENV]: file } : {}) };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(killer);
  return { code, message: stderr.trim() };
}

/** Exit 2 is "bad usage or configuration" (README): a setting that points at an unusable file is that. */
describe('a file the configuration points at that Edge cannot use', () => {
  it('a missing policyFile exits 2 naming the setting, the file and the fix', async () => {
    const missing = path.join(tempDir(), 'missing-policy.json');
    const { code, message } = await runEdge({ policyFile: missing });
    expect(code).toBe(2);
    expect(message).toContain(`bifrost-edge: policyFile: cannot read policy file ${missing} (ENOENT)`);
    expect(message).toContain('point policyFile at a policy bundle file');
  });

  it('a policyFile that is not JSON exits 2, also when the managed configuration sets it', async () => {
    const broken = path.join(tempDir(), 'broken.json');
    fs.writeFileSync(broken, '{');
    for (const as of ['config', 'managed'] as const) {
      const { code, message } = await runEdge({ policyFile: broken }, as);
      expect({ as, code }).toEqual({ as, code: 2 });
      expect(message).toContain(`bifrost-edge: policyFile: policy file ${broken} is not valid JSON`);
      expect(message).toContain('Fix that file');
    }
  });

  it('a missing gateway.caFile exits 2 naming the setting, the file and the fix', async () => {
    const missing = path.join(tempDir(), 'missing-ca.pem');
    const { code, message } = await runEdge({ gateway: { url: 'https://127.0.0.1:9', caFile: missing } });
    expect(code).toBe(2);
    expect(message).toContain(`bifrost-edge: gateway.caFile: cannot read the CA file ${missing} (ENOENT). Point gateway.caFile at the PEM file of the CA to trust`);
  });

  it('a CA file in OpenSSL\'s TRUSTED CERTIFICATE form is read as the certificate it is', () => {
    const dir = tempDir();
    const trusted = path.join(dir, 'ca-trusted.pem');
    // What `openssl x509 -addtrust serverAuth` writes; Node's TLS accepts it as a CA.
    fs.writeFileSync(trusted, '-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n-----END TRUSTED CERTIFICATE-----\n');
    expect(readConfiguredCaFiles({ upstream: { caFile: trusted } } as Parameters<typeof readConfiguredCaFiles>[0])).toEqual([fs.readFileSync(trusted, 'utf8')]);
  });

  it('an upstream.caFile with no PEM certificate in it exits 2', async () => {
    const notPem = path.join(tempDir(), 'ca.der');
    fs.writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    const { code, message } = await runEdge({ upstream: { caFile: notPem } });
    expect(code).toBe(2);
    expect(message).toContain(`bifrost-edge: upstream.caFile: ${notPem} holds no PEM certificate`);
  });
});
