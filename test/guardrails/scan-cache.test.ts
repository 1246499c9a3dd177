import { describe, expect, it } from 'vitest';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { compile } from './compile-or-throw.js';
import { MAX_CACHED_TEXTS, MIN_CACHED_CHARS, scanTextRemembered } from '../../src/guardrails/scan-cache.js';
import { scanText } from '../../src/guardrails/scan-text.js';
import type { TextSpan } from '../../src/providers/types.js';
import { ALNUM, Fake, j } from './corpus/fake-data.js';

const f = new Fake('scan-cache');
const githubToken = j('gh', 'p_', f.str(ALNUM, 36));


/** A message long enough to be remembered, with an e-mail address and a token in it. */
function longMessage(tag: string): string {
  const filler = `Notes for ${tag}: the nightly export moved to the new scheduler and the retry policy changed. `;
  return `${filler.repeat(Math.ceil(MIN_CACHED_CHARS / filler.length))}Mail jane.doe@acme-corp.com, token ${githubToken}.`;
}

describe('scanTextRemembered', () => {
  it('answers what scanText answers', () => {
    const policy = compile();
    const text = longMessage('equal');
    const expected = scanText(text, policy);
    expect(expected.map((finding) => finding.type).sort()).toEqual(['email', 'secret']);
    expect(scanTextRemembered(text, policy)).toEqual(expected);
    expect(scanTextRemembered(text, policy)).toEqual(expected);
  });

  it('answers a text it has scanned under the same policy from memory, with frozen findings', () => {
    const policy = compile();
    const text = longMessage('remembered');
    const first = scanTextRemembered(text, policy);
    expect(scanTextRemembered(text, policy)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first[0])).toBe(true);
    // The same characters in a new string object are the same text.
    expect(scanTextRemembered(text.split('').join(''), policy)).toBe(first);
  });

  it('scans again under another policy: findings never outlive their rules', () => {
    const text = longMessage('policies');
    const everything = compile();
    const noPii = compile({ pii: false });
    expect(scanTextRemembered(text, everything).map((finding) => finding.type).sort()).toEqual(['email', 'secret']);
    expect(scanTextRemembered(text, noPii).map((finding) => finding.type)).toEqual(['secret']);
    expect(scanTextRemembered(text, everything).map((finding) => finding.type).sort()).toEqual(['email', 'secret']);
  });

  it('tells texts apart that differ in one character', () => {
    const policy = compile();
    const text = longMessage('one character');
    const withoutMail = text.replace('jane.doe@acme-corp.com', 'jane.doe at acme-corp');
    expect(scanTextRemembered(text, policy).map((finding) => finding.type)).toContain('email');
    expect(scanTextRemembered(withoutMail, policy).map((finding) => finding.type)).not.toContain('email');
  });

  it('scans short texts every time', () => {
    const policy = compile();
    const short = 'mail jane.doe@acme-corp.com';
    expect(short.length).toBeLessThan(MIN_CACHED_CHARS);
    const first = scanTextRemembered(short, policy);
    expect(first).toHaveLength(1);
    expect(scanTextRemembered(short, policy)).not.toBe(first);
  });

  it('forgets the least recently used text first once it holds MAX_CACHED_TEXTS', () => {
    const policy = compile({ pii: false, secrets: false, customRules: [{ id: 'falcon', message: 'confidential', keywords: ['Project Falcon'] }] });
    const text = (i: number) => `${'x'.repeat(MIN_CACHED_CHARS)} message ${i} about Project Falcon`;
    const oldest = scanTextRemembered(text(0), policy);
    const kept = scanTextRemembered(text(1), policy);
    for (let i = 2; i < MAX_CACHED_TEXTS; i++) scanTextRemembered(text(i), policy);
    // Text 1 is used again, so text 0 is now the least recently used; one more text pushes it out.
    expect(scanTextRemembered(text(1), policy)).toBe(kept);
    scanTextRemembered(text(MAX_CACHED_TEXTS), policy);
    expect(scanTextRemembered(text(1), policy)).toBe(kept);
    const rescanned = scanTextRemembered(text(0), policy);
    expect(rescanned).not.toBe(oldest);
    expect(rescanned).toEqual(oldest);
  });
});

describe('applyGuardrails across the turns of a conversation', () => {
  it('decides each turn as if it were the first', () => {
    const policy = compile();
    const messages: string[] = [];
    const turn = (content: string) => {
      messages.push(content);
      const texts: TextSpan[] = messages.map((text, i) => ({ path: ['messages', i, 'content'], text, kind: 'user' }));
      const body = { model: 'gpt-4o', messages: messages.map((content) => ({ role: 'user', content })) };
      return applyGuardrails(texts, body, policy);
    };
    const clean = `${'Please review the retry policy of the export job. '.repeat(20)}`;
    expect(turn(clean).decision).toBe('allow');
    expect(turn(`${clean} Reply to jane.doe@acme-corp.com.`).decision).toBe('redact');
    // The earlier message with the address comes back in the next turn: it is still redacted there.
    const third = turn(`${clean} Thanks.`);
    expect(third.decision).toBe('redact');
    expect(third.findings.map((finding) => finding.path)).toEqual([['messages', 1, 'content']]);
    const redacted = third.redactedBody as { messages: Array<{ content: string }> };
    expect(redacted.messages[1]!.content).toContain('[REDACTED:email]');
    expect(turn(`token ${githubToken}`).decision).toBe('block');
  });
});
