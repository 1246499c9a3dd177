import { describe, expect, it } from 'vitest';
import { KeywordSet } from '../../src/guardrails/keyword-prefilter.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import { SECRET_RULES } from '../../src/guardrails/secret-rules/index.js';
import { ALNUM, B64, Fake, HEX } from './corpus/fake-data.js';
import { SECRET_SAMPLES } from './corpus/secret-samples.js';

const naive = (keywords: string[], text: string) => new Set(keywords.filter((k) => text.includes(k)));

describe('KeywordSet', () => {
  const keywords = ['key', 'apikey', 'api', 'token', 'tok', 'secret', 'sk-', 'ghp_', 'xoxb-', 'pass', 'password'];
  const set = new KeywordSet(keywords);

  it('finds keywords inside other keywords and keywords that are prefixes of others', () => {
    expect(set.presentIn('my apikey here')).toEqual(new Set(['apikey', 'api', 'key']));
    expect(set.presentIn('the password')).toEqual(new Set(['password', 'pass']));
    expect(set.presentIn('tokenize')).toEqual(new Set(['token', 'tok']));
    expect(set.presentIn('nothing to see')).toEqual(new Set());
  });

  it('agrees with a plain includes() on random texts, short (single pass) and long (narrowing) alike', () => {
    const alphabet = ['key', 'api', 'tok', 'en', 'sec', 'ret', 'pass', 'word', 'sk-', 'ghp_', 'xox', 'b-', ' ', 'x', 'a'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const pieces = round % 10 === 0 ? 4000 : 1 + Math.floor(random() * 40);
      const text = Array.from({ length: pieces }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect(set.presentIn(text), text.slice(0, 80)).toEqual(naive(keywords, text));
    }
  });
});

describe('the secret rules prefilter', () => {
  it('finds exactly what running every rule finds', () => {
    const compiled = compileGuardrailPolicy({});
    if (!compiled.ok) throw new Error(compiled.errors.join('; '));
    const texts = [
      'Say hello in one word.',
      'deploy with aws_secret_access_key = "q8Zr2Lk9Wm4Xt7Vb1Nc6Hs3Jd5Fg0Ka8Ep2Ry4Uz" and token ghp_R4nd0mL00k1ngT0k3nV4lu3Xq9Zw2Ye7Uv5T',
      `postgres://admin:S3cr3t-Pa55@db.internal:5432/app and sk-ant-api03-${'Qx7Rz2Lk9Wm4Xt7Vb1Nc6Hs3Jd5Fg0Ka8Ep2Ry4Uz'.repeat(2)}Qx7Rz2Lk9Wm4Xt7Vb1NcAA`,
    ];
    for (const text of texts) expect(scanText(text, compiled.policy)).toEqual(scanText(text, compiled.policy, { prefilter: false }));
    // The comparison means something: the planted credentials are found.
    expect(scanText(texts[1]!, compiled.policy).length).toBeGreaterThanOrEqual(2);
    expect(scanText(texts[2]!, compiled.policy).length).toBeGreaterThanOrEqual(2);
  });
});

describe('rule keywords cover every spelling their regex accepts', () => {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  const policy = compiled.policy;
  /** Key names are written `aws_session_token`, `aws-session-token`, `awssessiontoken`, `AWS_SESSION_TOKEN`. */
  const spellings: Array<[string, (text: string) => string]> = [
    ['as written', (t) => t],
    ['_ as -', (t) => t.replace(/_/g, '-')],
    ['- as _', (t) => t.replace(/(?<=[A-Za-z])-(?=[A-Za-z])/g, '_')],
    ['no separators', (t) => t.replace(/(?<=[A-Za-z])[_-](?=[A-Za-z])/g, '')],
    ['uppercase', (t) => t.toUpperCase()],
    ['tab after the scheme', (t) => t.replace(/Basic /g, 'Basic\t')],
  ];
  const f = new Fake('prefilter-spellings');
  const cases = SECRET_RULES.flatMap((rule) => {
    const builder = SECRET_SAMPLES[rule.id];
    return builder ? spellings.map(([name, spell]) => [`${rule.id} ${name}`, spell(builder(f).text)] as const) : [];
  });

  it.each(cases)('%s: the prefilter finds what running every rule finds', (_name, text) => {
    expect(scanText(text, policy)).toEqual(scanText(text, policy, { prefilter: false }));
  });

  it.each([
    ['aws-session-token: IQoJb3JpZ2luX2VjEJsaCXVzLWVhc3QtMSJHMEUCIQ' + f.str(B64, 300)],
    ['AWS-SECURITY-TOKEN=IQoJb3JpZ2luX2VjEJsaCXVzLWVhc3QtMSJHMEUCIQ' + f.str(B64, 300)],
    [`storage-account-key: ${f.str(B64, 86)}==`],
    [`account_key = "${f.str(B64, 86)}=="`],
    [`Authorization: Basic\t${Buffer.from('admin:Tr0ub4dor&3x').toString('base64')}`],
    [`DD_CLIENT_API_KEY=${f.str(HEX, 32)}`],
    [`MJ_SECRET_KEY=${f.str(HEX, 32)}`],
    [`box-client-secret: ${f.str(ALNUM, 32)}`],
  ])('finds %s', (text) => {
    const withPrefilter = scanText(text, policy);
    expect(withPrefilter).toEqual(scanText(text, policy, { prefilter: false }));
    expect(withPrefilter.map((x) => x.type)).toContain('secret');
  });
});
