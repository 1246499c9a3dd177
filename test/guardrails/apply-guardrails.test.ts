import { describe, expect, it } from 'vitest';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { compile } from './compile-or-throw.js';
import type { GuardrailPolicyInput } from '../../src/guardrails/policy.js';
import type { TextSpan } from '../../src/providers/types.js';
import { ALNUM, cardNumber, Fake, j } from './corpus/fake-data.js';

const f = new Fake('apply');
const githubToken = j('gh', 'p_', f.str(ALNUM, 36));


function chatBody(...contents: string[]): { body: unknown; texts: TextSpan[] } {
  const messages = contents.map((content, i) => ({ role: i === 0 ? 'system' : 'user', content }));
  const body = { model: 'gpt-4o', messages };
  const texts: TextSpan[] = contents.map((text, i) => ({ path: ['messages', i, 'content'], text, kind: i === 0 ? 'system' : 'user' }));
  return { body, texts };
}

describe('applyGuardrails decisions', () => {
  it.each([
    ['nothing sensitive', ['You are helpful.', 'Summarize the release notes for 2.10.3'], {}, 'allow'],
    ['a secret blocks by default', ['You are helpful.', `my token is ${githubToken}`], {}, 'block'],
    ['an email is redacted by default', ['You are helpful.', 'mail jane.doe@acme-corp.com'], {}, 'redact'],
    ['a public IP is flagged by default', ['You are helpful.', 'server 8.8.4.4 is slow'], {}, 'flag'],
    ['block wins over redact', ['mail jane.doe@acme-corp.com', `token ${githubToken}`], {}, 'block'],
    ['actions are per type', ['mail jane.doe@acme-corp.com'], { actions: { email: 'block' } }, 'block'],
    ['warn mode turns a block into a flag', [`token ${githubToken}`], { mode: 'warn' }, 'flag'],
    ['disabled policy allows', [`token ${githubToken}`], { enabled: false }, 'allow'],
    ['secrets category off', [`token ${githubToken}`], { secrets: false }, 'allow'],
    ['pii limited to listed types', ['mail jane.doe@acme-corp.com, call +44 20 7946 0958'], { pii: ['phone'], actions: { phone: 'flag' } }, 'flag'],
    ['disabled rule id', [`token ${githubToken}`], { disabledRules: ['github-pat'] }, 'allow'],
    ['custom keyword rule', ['status of Project Falcon?'], { customRules: [{ id: 'falcon', message: 'Project Falcon is confidential', keywords: ['Project Falcon'] }] }, 'block'],
    ['custom rule action', ['ticket ACME-123456 details'], { customRules: [{ id: 'ticket', message: 'internal ticket', pattern: '\\bACME-\\d{6}\\b', action: 'redact' }] }, 'redact'],
  ] as const)('%s', (_name, contents, policy, decision) => {
    const { body, texts } = chatBody(...contents);
    expect(applyGuardrails(texts, body, compile(policy as GuardrailPolicyInput)).decision).toBe(decision);
  });
});

describe('overlapping findings', () => {
  it.each([
    ['a password that contains an e-mail address', 'Deploy uses SMTP_PASSWORD=ops@acme-corp.com#Zq81!xT'],
    ['the same password without the @', 'Deploy uses SMTP_PASSWORD=opsXacme-corp.com#Zq81!xT'],
  ])('%s blocks: the stronger action keeps the span', (_name, text) => {
    const { body, texts } = chatBody(text);
    const result = applyGuardrails(texts, body, compile());
    expect(result.decision).toBe('block');
    expect(result.findings.map((x) => x.type)).toEqual(['secret']);
  });

  it('when PII is set to block and the credential only flags, the PII finding wins the overlap', () => {
    const { body, texts } = chatBody('Deploy uses SMTP_PASSWORD=ops@acme-corp.com#Zq81!xT');
    const result = applyGuardrails(texts, body, compile({ actions: { secret: 'flag', email: 'block' } }));
    expect(result.findings.map((x) => [x.type, x.action])).toEqual([['email', 'block']]);
  });
});

describe('block error', () => {
  it('is a 446 guardrail_blocked error naming type, rule id and path, never the secret', () => {
    const { body, texts } = chatBody('You are helpful.', `deploy with ${githubToken} please`);
    const result = applyGuardrails(texts, body, compile());
    expect(result.blockError).toMatchObject({ status: 446, type: 'guardrail_blocked' });
    expect(result.blockError!.message).toContain('secret (github-pat) in messages[1].content');
    expect(result.blockError!.message).not.toContain(githubToken);
    expect(result.blockError!.message).not.toContain(githubToken.slice(4, 20));
    expect(JSON.stringify(result.findings)).not.toContain(githubToken);
    expect(result.findings[0]).toMatchObject({ type: 'secret', ruleId: 'github-pat', path: ['messages', 1, 'content'], action: 'block' });
  });

  it('includes the administrator message of a custom rule', () => {
    const { body, texts } = chatBody('status of Project Falcon?');
    const policy = compile({ customRules: [{ id: 'falcon', message: 'Project Falcon is confidential', keywords: ['project falcon'] }] });
    expect(applyGuardrails(texts, body, policy).blockError?.message).toContain('custom (falcon: Project Falcon is confidential) in messages[0].content');
  });
});

describe('redaction', () => {
  it('replaces only the spans, in a deep copy, leaving the original body untouched', () => {
    const { body, texts } = chatBody('You are helpful.', 'Mail jane.doe@acme-corp.com and call +44 20 7946 0958 today.');
    const original = JSON.stringify(body);
    const result = applyGuardrails(texts, body, compile());
    expect(result.decision).toBe('redact');
    expect(result.redactedBody).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'Mail [REDACTED:email] and call [REDACTED:phone] today.' },
      ],
    });
    expect(JSON.stringify(body)).toBe(original);
  });

  it('leaves flag-only findings in place while redacting others', () => {
    const { body, texts } = chatBody('jane.doe@acme-corp.com from 8.8.4.4');
    const result = applyGuardrails(texts, body, compile());
    expect((result.redactedBody as { messages: Array<{ content: string }> }).messages[0]!.content).toBe('[REDACTED:email] from 8.8.4.4');
  });

  it('redacts text nested in content parts and in a top-level string body', () => {
    const body = { contents: [{ parts: [{ text: 'a' }, { text: 'ssn 536-22-1987' }] }] };
    const texts: TextSpan[] = [{ path: ['contents', 0, 'parts', 1, 'text'], text: 'ssn 536-22-1987', kind: 'user' }];
    const result = applyGuardrails(texts, body, compile());
    expect(result.redactedBody).toEqual({ contents: [{ parts: [{ text: 'a' }, { text: 'ssn [REDACTED:us_ssn]' }] }] });
    const whole = applyGuardrails([{ path: [], text: 'mail jane.doe@acme-corp.com', kind: 'input' }], 'mail jane.doe@acme-corp.com', compile());
    expect(whole.redactedBody).toBe('mail [REDACTED:email]');
  });

  it('fails closed (blocks) when the body does not hold the scanned text', () => {
    const texts: TextSpan[] = [{ path: ['messages', 0, 'content'], text: 'mail jane.doe@acme-corp.com', kind: 'user' }];
    const result = applyGuardrails(texts, { messages: [{ content: 'something else' }] }, compile());
    expect(result.decision).toBe('block');
    expect(result.blockError?.message).toContain('could not be redacted in place');
  });
});

describe('warn mode and size limits', () => {
  it('warn mode reports a 246 warning and no block or rewrite', () => {
    const { body, texts } = chatBody(`token ${githubToken}`);
    const result = applyGuardrails(texts, body, compile({ mode: 'warn' }));
    expect(result).toMatchObject({ decision: 'flag', warning: { status: 246, type: 'guardrail_warning' } });
    expect(result.blockError).toBeUndefined();
    expect(result.redactedBody).toBeUndefined();
    expect(result.findings.every((x) => x.action === 'flag')).toBe(true);
  });

  it.each([
    ['block', 'block'],
    ['pass_uninspected', 'allow'],
  ] as const)('oversize %s → %s', (oversize, decision) => {
    const { body, texts } = chatBody(`${'x'.repeat(2000)} ${githubToken}`);
    const result = applyGuardrails(texts, body, compile({ maxInspectBytes: 1024, oversize }));
    expect(result).toMatchObject({ decision, oversize: true, findings: [] });
    if (decision === 'block') expect(result.blockError?.message).toMatch(/over the 1024-byte inspection limit/);
  });

  it('accepts an uncompiled policy object and compiles it once', () => {
    const { body, texts } = chatBody('mail jane.doe@acme-corp.com');
    const policy = { actions: { email: 'flag' } };
    expect(applyGuardrails(texts, body, policy).decision).toBe('flag');
    expect(applyGuardrails(texts, body, policy).decision).toBe('flag');
    expect(() => applyGuardrails(texts, body, { maxInspectBytes: 'lots' })).toThrow(/maxInspectBytes/);
  });
});

describe('JSON-encoded spans (tool-call arguments, JSON tool results)', () => {
  const card = cardNumber(f, '4', 16);
  const toolCall = (args: string): { body: unknown; texts: TextSpan[] } => {
    const path = ['messages', 0, 'tool_calls', 0, 'function', 'arguments'];
    const body = { messages: [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send', arguments: args } }] }] };
    return { body, texts: [{ path, text: args, kind: 'tool_arguments' }] };
  };
  const redactedArguments = (body: unknown): string =>
    (body as { messages: Array<{ tool_calls: Array<{ function: { arguments: string } }> }> }).messages[0]!.tool_calls[0]!.function.arguments;

  // A value at the start of a line follows the two characters `\n` in the encoded text; HTML-safe encoders
  // (Go's encoding/json) write `<` as `\u003c`.
  it.each([
    ['an e-mail on its own line', 'Hello,\njane.roe@acme-corp.com', '{"body":"Hello,\\n[REDACTED:email]"}'],
    ['a card on its own line', `Card number:\n${card}`, '{"body":"Card number:\\n[REDACTED:credit_card]"}'],
    ['a phone on its own line', 'Call me:\n+44 7911 123456', '{"body":"Call me:\\n[REDACTED:phone]"}'],
    ['an SSN on its own line', 'SSN\n536-22-1987', '{"body":"SSN\\n[REDACTED:us_ssn]"}'],
    ['an e-mail after a tab', 'to:\tjane.roe@acme-corp.com', '{"body":"to:\\t[REDACTED:email]"}'],
    ['an e-mail in <>', 'Jane Roe <jane.roe@acme-corp.com>', '{"body":"Jane Roe \\u003c[REDACTED:email]\\u003e"}'],
  ])('finds %s and redacts it into valid JSON', (_name, value, expected) => {
    const args = JSON.stringify({ body: value }).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
    const { body, texts } = toolCall(args);
    const result = applyGuardrails(texts, body, compile());
    expect(result.decision).toBe('redact');
    const redacted = redactedArguments(result.redactedBody);
    expect(redacted).toBe(expected);
    expect(() => JSON.parse(redacted) as unknown).not.toThrow();
  });

  it('still sees a key and its value together', () => {
    const { body, texts } = toolCall(JSON.stringify({ env: { GITHUB_TOKEN: githubToken } }));
    expect(applyGuardrails(texts, body, compile()).findings.map((x) => x.ruleId)).toContain('github-pat');
  });

  it('leaves JSON without findings alone, escapes and all', () => {
    const { body, texts } = toolCall('{"body":"line one\\nline two \\u003cb\\u003e","n":12}');
    expect(applyGuardrails(texts, body, compile()).decision).toBe('allow');
  });
});

describe('text copied from PDFs, Word and web pages', () => {
  const card = cardNumber(f, '4', 16);
  const grouped = (separator: string): string => card.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
  const fullWidth = [...card].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
  const zeroWidthToken = `${githubToken.slice(0, 10)}\u200b${githubToken.slice(10)}`;

  it.each([
    ['a card with no-break spaces', `Card: ${grouped('\u00a0')} thanks`, `Card: [REDACTED:credit_card] thanks`],
    ['a card with narrow no-break spaces', `Card: ${grouped('\u202f')} thanks`, `Card: [REDACTED:credit_card] thanks`],
    ['a card in full-width digits', `Card: ${fullWidth} thanks`, `Card: [REDACTED:credit_card] thanks`],
    ['a phone with no-break spaces', 'Tel.\u00a0: +44\u00a07911\u00a0123456', 'Tel.\u00a0: [REDACTED:phone]'],
    ['an e-mail after a zero-width space', 'mail:\u200bjane.doe@acme-corp.com, é', 'mail:\u200b[REDACTED:email], é'],
  ])('redacts %s in the original text', (_name, text, expected) => {
    const { body, texts } = chatBody(text);
    const result = applyGuardrails(texts, body, compile());
    expect(result.decision).toBe('redact');
    expect((result.redactedBody as { messages: Array<{ content: string }> }).messages[0]!.content).toBe(expected);
  });

  it('blocks a token with a zero-width space inside', () => {
    const { body, texts } = chatBody(`token ${zeroWidthToken}`);
    const result = applyGuardrails(texts, body, compile());
    expect(result.decision).toBe('block');
    expect(result.findings[0]).toMatchObject({ ruleId: 'github-pat', start: 6, end: 6 + zeroWidthToken.length });
  });

  it('leaves ordinary non-ASCII prose alone', () => {
    const { body, texts } = chatBody('Grüße aus Köln — « déjà vu » 東京 ½ ﬁnal 😀');
    expect(applyGuardrails(texts, body, compile()).decision).toBe('allow');
  });
});
