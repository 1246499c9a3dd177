import { describe, expect, it } from 'vitest';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { normalizeMcpBody } from '../../src/providers/mcp-messages.js';

/**
 * What of an MCP message the guardrails see: everything the server receives that a person or a model
 * wrote, object keys included, with the default guardrail policy (secrets block, personal data is redacted).
 */

// Realistic-looking values: the guardrails skip obvious placeholders.
const GITHUB_TOKEN = 'ghp_R8x2Lq9ZtY4vWm1Kp7Nc3Hs6Jd0Fb5Ge2Ua8';
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';

const call = (params: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', ...params } });

function guard(body: unknown) {
  const compiled = compileGuardrailPolicy({});
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  return applyGuardrails(normalizeMcpBody(body, 'github', { stream: false }).texts, body, compiled.policy);
}

describe('MCP messages: secrets and personal data anywhere in a call\'s params', () => {
  it.each([
    ['as an argument value', call({ arguments: { text: `deploy with ${GITHUB_TOKEN}` } })],
    ['as an argument key', call({ arguments: { text: 'hi', headers: { [GITHUB_TOKEN]: 'x' } } })],
    ['in _meta', call({ arguments: { text: 'hi' }, _meta: { note: GITHUB_TOKEN } })],
    ['as a key of _meta', call({ _meta: { [GITHUB_TOKEN]: true } })],
    ['in a params member MCP does not define', call({ extra: [GITHUB_TOKEN] })],
    ['as the name of such a member', call({ [GITHUB_TOKEN]: 1 })],
  ])('a secret %s blocks the call, and the error does not repeat it', (_where, body) => {
    const result = guard(body);
    expect(result.decision).toBe('block');
    expect(result.blockError?.message).not.toContain(GITHUB_TOKEN);
  });

  it('personal data in _meta is redacted in place; as a key it cannot be, so the call is blocked', () => {
    const inMeta = guard(call({ arguments: { text: 'hi' }, _meta: { contact: EMAIL } }));
    expect(inMeta.decision).toBe('redact');
    expect(inMeta.redactedBody).toEqual(call({ arguments: { text: 'hi' }, _meta: { contact: '[REDACTED:email]' } }));

    const asKey = guard(call({ arguments: { recipients: { [EMAIL]: 'cc' } } }));
    expect(asKey.decision).toBe('block');
    expect(asKey.blockError?.message).toMatch(/params\.arguments\.recipients/);
    expect(asKey.blockError?.message).not.toContain(EMAIL);
  });

  it('ordinary keys and the tool name find nothing', () => {
    expect(guard(call({ arguments: { title: 'Bug', labels: ['p1'] }, _meta: { progressToken: 'tok-1' } })).decision).toBe('allow');
  });
});

describe('MCP messages: deeply nested arguments', () => {
  const nested = (depth: number, inner: unknown): unknown => {
    let value = inner;
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };

  it('are read in document order, keys before their values, with their paths', () => {
    const texts = normalizeMcpBody(call({ arguments: { a: { b: ['x'] } } }), 'github', { stream: false }).texts;
    expect(texts.filter((t) => t.kind === 'tool_arguments').map((t) => [t.path.join('.'), t.text])).toEqual([
      ['params.arguments', 'a'], ['params.arguments.a', 'b'], ['params.arguments.a.b.0', 'x'],
    ]);
  });

  it('nested more than 128 levels are refused with a 400 naming where, not read in part', () => {
    // 60 000 levels used to take seconds (a path copied per level); the walk is linear, and refuses past 128.
    expect(() => normalizeMcpBody(call({ arguments: { deep: nested(60_000, GITHUB_TOKEN) } }), 'github', { stream: false }))
      .toThrow(/params\.arguments holds arrays or objects nested more than 128 levels deep/);
    expect(guard(call({ arguments: { deep: nested(100, GITHUB_TOKEN) } })).decision).toBe('block');
  });
});
