import { describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import { SECRET_RULES } from '../../src/guardrails/secret-rules/index.js';
import { B64, Fake } from './corpus/fake-data.js';
import { realPrivateKeys } from './corpus/real-keys.js';
import { buildSample, SECRET_SAMPLES } from './corpus/secret-samples.js';

const compiled = compileGuardrailPolicy({});
if (!compiled.ok) throw new Error(compiled.errors.join('; '));
const policy = compiled.policy;

describe('secret rule table', () => {
  it('has at least 100 rules with unique kebab-case ids, keywords and global+indices regexes', () => {
    expect(SECRET_RULES.length).toBeGreaterThanOrEqual(100);
    const ids = SECRET_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of SECRET_RULES) {
      expect(rule.id, rule.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(rule.keywords.length, `${rule.id} needs prefilter keywords`).toBeGreaterThan(0);
      for (const keyword of rule.keywords) expect(keyword, rule.id).toBe(keyword.toLowerCase());
      expect(rule.pattern.flags, rule.id).toContain('g');
      expect(rule.pattern.flags, rule.id).toContain('d');
    }
  });

  it('has a realistic sample for every rule', () => {
    const missing = SECRET_RULES.map((r) => r.id).filter((id) => !(id in SECRET_SAMPLES));
    expect(missing).toEqual([]);
  });

  describe.each(SECRET_RULES.map((r) => [r.id] as const))('%s', (ruleId) => {
    it('finds its sample, reporting only the secret span', () => {
      const builder = SECRET_SAMPLES[ruleId];
      if (!builder) return;
      const sample = buildSample(ruleId, builder);
      const secretStart = sample.text.indexOf(sample.secret);
      expect(secretStart, 'sample secret must be in its text').toBeGreaterThanOrEqual(0);
      const findings = scanText(sample.text, policy);
      const mine = findings.find((f) => f.ruleId === ruleId);
      expect(mine, `findings were ${JSON.stringify(findings.map((f) => f.ruleId))}`).toBeDefined();
      const secretEnd = secretStart + sample.secret.length;
      expect(mine!.start < secretEnd && secretStart < mine!.end).toBe(true);
      // The rule fires on its own, too: the prefilter keywords cover the sample.
      const lower = sample.text.toLowerCase();
      const rule = SECRET_RULES.find((r) => r.id === ruleId)!;
      expect(rule.keywords.some((k) => lower.includes(k))).toBe(true);
    });
  });
});

describe('real private keys', () => {
  const keys = realPrivateKeys();
  const ruleFor = (text: string): string => (text.includes('OPENSSH') ? 'openssh-private-key' : 'pem-private-key');

  it.each(keys.map((key) => [key.name, key.text] as const))('finds %s pasted alone and inside a prompt', (_name, key) => {
    for (const text of [key, `Why does ssh reject this key?\n\n${key}\nThanks`]) {
      const findings = scanText(text, policy);
      expect(findings.map((f) => f.ruleId)).toEqual([ruleFor(key)]);
      expect(text.slice(findings[0]!.start, findings[0]!.end)).toBe(key.trimEnd());
    }
  });

  it.each(keys.map((key) => [key.name, key.text] as const))('finds %s base64-encoded as kubeconfig client-key-data', (_name, key) => {
    const text = `users:\n- name: admin\n  user:\n    client-key-data: ${Buffer.from(key).toString('base64')}\n`;
    expect(scanText(text, policy).map((f) => f.ruleId)).toEqual(['kubeconfig-client-key-data']);
  });

  it.each([
    ['a run of A', `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\n${'A'.repeat(20)}\n${'A'.repeat(20)}\n${'A'.repeat(20)}\n-----END OPENSSH ${'PRIVATE'} KEY-----`],
    ['a run of x', `-----BEGIN RSA ${'PRIVATE'} KEY-----\n${'x'.repeat(64)}\n-----END RSA ${'PRIVATE'} KEY-----`],
    ['a repeated stub', `-----BEGIN ${'PRIVATE'} KEY-----\n${'MIIB'.repeat(20)}\n-----END ${'PRIVATE'} KEY-----`],
    ['an ellipsis', `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA...\n-----END OPENSSH ${'PRIVATE'} KEY-----`],
  ])('ignores a key block whose body is %s (documentation, not a key)', (_name, text) => {
    expect(scanText(text, policy)).toEqual([]);
  });
});

describe('AWS STS session tokens', () => {
  const f = new Fake('sts');
  // Real STS tokens carry a run of `/` after their header (a protobuf varint), like AWS's documented sample.
  const token = `IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ${f.str(B64, 600)}`;

  it.each([
    ['an env file', `AWS_SESSION_TOKEN=${token}`],
    ['a credentials file', `[default]\naws_session_token = ${token}\n`],
  ])('finds one with its run of / in %s', (_name, text) => {
    expect(scanText(text, policy).map((x) => x.ruleId)).toContain('aws-session-token');
  });

  it('still ignores a filler value', () => {
    expect(scanText(`AWS_SESSION_TOKEN=${'A'.repeat(300)}`, policy)).toEqual([]);
  });
});

describe('truncated private keys', () => {
  // The first lines of id_rsa pasted to ask what kind of key it is, or a key cut off by a message limit.
  it.each(realPrivateKeys().filter((key) => key.text.split('\n').length > 6).map((key) => [key.name, key.text] as const))(
    'finds %s without its END line',
    (_name, key) => {
      const head = key.split('\n').slice(0, 5).join('\n');
      const findings = scanText(`my key starts like this, is it RSA?\n${head}\n...`, policy);
      expect(findings.map((x) => x.ruleId)).toEqual(['private-key-truncated']);
    },
  );

  it('ignores a header with a stub body', () => {
    expect(scanText(`-----BEGIN RSA ${'PRIVATE'} KEY-----\nMIIEowIBAAKCAQEA...\n(truncated)`, policy)).toEqual([]);
  });
});
