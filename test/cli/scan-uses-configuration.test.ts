import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EDGE_BIN } from '../support/edge-process.js';

/**
 * `bifrost-edge scan` is how an admin or employee checks text against the guardrails the agent enforces.
 * Before, it only knew --policy: it refused --config, ignored the configured and managed guardrails (the
 * built-in policy ran instead), and read an agent configuration given as --policy as an empty policy,
 * answering "No findings. Policy decision: allow." for text the agent blocks.
 */

const GUARDRAILS = { customRules: [{ id: 'project-names', message: 'no project names', keywords: ['bluebird'] }] };
const TEXT = 'status of project bluebird';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'edge-scan-config-'));
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

/** Runs the real CLI with only the Edge variables a test gives (none inherited from the developer's shell). */
function scan(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BIFROST_EDGE_')));
  const result = spawnSync(process.execPath, [EDGE_BIN, 'scan', ...args], { input: TEXT, env: { ...inherited, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bifrost-edge scan uses the guardrails of the effective configuration', () => {
  it('--config F: scans with the file\'s guardrails and says so', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { guardrails: GUARDRAILS });
    const { code, stdout, stderr } = scan(['--config', config, '--data-dir', path.join(dir, 'data')]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1 finding\. Policy decision: block\./);
    expect(stdout).toMatch(/custom\s+project-names\s+block/);
    expect(stdout).toContain(`Policy: the guardrails of the configuration (config file ${config} (--config)).`);
  });

  it('a policyFile bundle\'s guardrails win over the configuration\'s, as in the agent', () => {
    const dir = tempDir();
    // Placed by MDM for devices without Edge Control; the agent applies its guardrails (GuardrailPolicyHolder).
    writeJson(dir, 'bundle.json', {
      schema: 'bifrost-edge.policy/v1', version: 1, issued_at: '2026-12-01T00:00:00Z', fail_mode: 'open', virtual_keys: [],
      guardrails: GUARDRAILS,
    });
    const config = writeJson(dir, 'config.json', { policyFile: 'bundle.json', guardrails: { enabled: false } });
    const { code, stdout, stderr } = scan(['--config', config, '--data-dir', path.join(dir, 'data')]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1 finding\. Policy decision: block\./);
    expect(stdout).toContain(`Policy: the guardrails of the policy bundle ${path.join(dir, 'bundle.json')} (the configuration's policyFile).`);
    // A bundle without guardrails leaves the configuration's in force.
    writeJson(dir, 'bundle.json', { schema: 'bifrost-edge.policy/v1', version: 2, issued_at: '2026-12-01T00:00:00Z', fail_mode: 'open', virtual_keys: [] });
    expect(scan(['--config', config, '--data-dir', path.join(dir, 'data')]).stdout).toMatch(/^No findings\./);
  });

  it('BIFROST_EDGE_CONFIG names the file as it does for `run`', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { guardrails: GUARDRAILS });
    const { code, stdout } = scan([], { BIFROST_EDGE_CONFIG: config });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1 finding\. Policy decision: block\./);
  });

  it('the managed configuration\'s guardrails win over the user\'s file, as in the agent', () => {
    const dir = tempDir();
    const managed = writeJson(dir, 'managed.json', { guardrails: GUARDRAILS });
    const user = writeJson(dir, 'user.json', { guardrails: { enabled: false } });
    const { code, stdout, stderr } = scan(['--config', user, '--json'], { BIFROST_EDGE_TEST_MACHINE_CONFIG: managed });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { decision: string; findings: Array<{ ruleId: string }>; policy: { source: string; configuration: string } };
    expect(report.decision).toBe('block');
    expect(report.findings.map((f) => f.ruleId)).toEqual(['project-names']);
    expect(report.policy.source).toBe('configuration');
    expect(report.policy.configuration).toContain(managed);
  });

  it('a configuration without guardrails: the built-in policy, named as such', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { logLevel: 'warn' });
    const { code, stdout } = scan(['--config', config]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^No findings\. Policy decision: allow\./);
    expect(stdout).toContain(`Policy: the built-in policy (the configuration changes no guardrail setting: config file ${config} (--config)).`);
  });

  it('no configuration at all: the built-in policy, as for the agent', () => {
    const { code, stdout, stderr } = scan(['--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { policy: { source: string } }).policy.source).toBe('built-in');
  });

  it('a configuration the agent would refuse: exit 2 with the loader\'s message', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { guardrails: { customrules: [] } });
    const { code, stdout, stderr } = scan(['--config', config]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('customrules');
  });

  it('--policy F (a guardrail policy): scans with it and names the file', () => {
    const dir = tempDir();
    const policy = writeJson(dir, 'guardrails.json', GUARDRAILS);
    const { code, stdout } = scan(['--policy', policy]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1 finding\. Policy decision: block\./);
    expect(stdout).toContain(`Policy: the policy file ${policy}.`);
  });

  it('--policy F where F is an agent configuration: refused, pointing at --config (never read as an empty policy)', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { mode: 'local', guardrails: GUARDRAILS });
    const { code, stdout, stderr } = scan(['--policy', config]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${config} is an agent configuration`);
    expect(stderr).toContain(`bifrost-edge scan --config ${config}`);
    expect(stderr).not.toContain('No findings');
  });

  it('--policy F with a misspelt field: refused rather than silently ignored', () => {
    const dir = tempDir();
    const policy = writeJson(dir, 'guardrails.json', { customrules: GUARDRAILS.customRules });
    const { code, stderr } = scan(['--policy', policy]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown field(s) "customrules"');
  });

  it('--policy and --config together: a usage error, since both choose the policy', () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { guardrails: GUARDRAILS });
    const { code, stderr } = scan(['--policy', config, '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain('--policy and --config');
  });
});
