import { describe, expect, it } from 'vitest';
import { runScanCommand } from '../../src/guardrails/scan-command.js';
import { ALNUM, Fake, j } from './corpus/fake-data.js';

const token = j('gh', 'p_', new Fake('cli').str(ALNUM, 36));
const input = `deploy with ${token}\nthen mail jane.doe@acme-corp.com`;

describe('runScanCommand', () => {
  it('prints findings with line:column and the redacted text, exit 0 even with findings', () => {
    const { exitCode, stdout } = runScanCommand({ input, json: false });
    expect(exitCode).toBe(0);
    expect(stdout).toContain('2 findings. Policy decision: block.');
    expect(stdout).toMatch(/1:13\s+secret\s+github-pat\s+block/);
    expect(stdout).toMatch(/2:11\s+email\s+email\s+redact/);
    expect(stdout).toContain('Redacted text:\ndeploy with [REDACTED:github_pat]\nthen mail [REDACTED:email]');
    expect(stdout).not.toContain(token);
  });

  it('prints one JSON object with --json', () => {
    const { exitCode, stdout } = runScanCommand({ input, json: true, policy: '{"actions": {"secret": "flag"}}' });
    expect(exitCode).toBe(0);
    const report = JSON.parse(stdout) as { decision: string; findings: Array<{ ruleId: string; line: number }>; redactedText: string };
    expect(report.decision).toBe('redact');
    expect(report.findings.map((x) => [x.ruleId, x.line])).toEqual([['github-pat', 1], ['email', 2]]);
    expect(report.redactedText).not.toContain(token);
  });

  it('reports no findings plainly', () => {
    expect(runScanCommand({ input: 'hello world', json: false }).stdout).toContain('No findings. Policy decision: allow.');
  });

  it.each([
    ['{not json', /policy file is not valid JSON/],
    ['', /policy file is empty/],
    ['{"maxInspectBytes": "big"}', /maxInspectBytes/],
    [{ customRules: [{ id: 'bad-rule', message: 'm', pattern: 'key(?=\\d)' }] }, /custom rule "bad-rule": pattern uses a lookahead/],
  ])('refuses policy %j with exit 2 and a clear error', (policy, error) => {
    const text = runScanCommand({ input, json: false, policy });
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toMatch(error);
    expect(text.stdout).toContain('Fix the policy file');
    const json = runScanCommand({ input, json: true, policy });
    expect(json.exitCode).toBe(2);
    expect((JSON.parse(json.stdout) as { errors: string[] }).errors.join('\n')).toMatch(error);
  });
});
