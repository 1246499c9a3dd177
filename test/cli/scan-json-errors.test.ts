import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDGE_BIN } from '../support/edge-process.js';

/**
 * A script running `bifrost-edge scan --json` parses stdout. Before, a policy scan could not use wrote its
 * JSON error object to stderr and left stdout empty, so the script saw no JSON at all.
 */

function scanJson(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BIFROST_EDGE_')));
  const result = spawnSync(process.execPath, [EDGE_BIN, 'scan', '--json', ...args], { input: 'hi', env, encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempFile(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edge-scan-json-')), name);
  fs.writeFileSync(file, text);
  return file;
}

describe('bifrost-edge scan --json: errors are JSON on stdout, exit code unchanged', () => {
  it('a policy file that is not valid JSON', () => {
    const { code, stdout } = scanJson(['--policy', tempFile('bad.json', '{')]);
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as { error: string; errors: string[] };
    expect(report.error).toBe('invalid guardrail policy');
    expect(report.errors.join('\n')).toContain('policy file is not valid JSON');
  });

  it('a configuration the agent would refuse', () => {
    const config = tempFile('config.json', JSON.stringify({ guardrails: { minConfidence: 7 } }));
    const { code, stdout } = scanJson(['--config', config]);
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as { error: string; errors: string[] };
    expect(report.error).toBe('invalid configuration');
    expect(report.errors.join('\n')).toContain('minConfidence');
  });

  it('a policy file that cannot be read', () => {
    const missing = path.join(os.tmpdir(), 'edge-scan-json-no-such-dir', 'policy.json');
    const { code, stdout } = scanJson(['--policy', missing]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { error: string; errors: string[] };
    expect(report.error).toBe('cannot read policy file');
    expect(report.errors.join('\n')).toContain(`cannot read policy file ${missing} (ENOENT)`);
  });
});
