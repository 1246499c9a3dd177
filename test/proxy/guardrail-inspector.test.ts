import { describe, expect, it } from 'vitest';
import { guardrailInspector, jsonPathLabel } from '../../src/proxy/inspectors/guardrails.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import type { NormalizedRequest } from '../../src/providers/types.js';

function compiled(input: unknown) {
  const result = compileGuardrailPolicy(input);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.policy;
}

const big = 'x'.repeat(2000);
const request: NormalizedRequest = {
  provider: 'openai', adapter: 'openai-compatible', operation: 'chat.completions', model: 'gpt-4o', stream: false, inspected: true,
  texts: [{ path: ['messages', 0, 'content'], text: big, kind: 'user' }], tools: [],
};
const input = { request, body: { messages: [{ role: 'user', content: big }] }, info: { method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', headers: {} }, app: 'test' };

describe('guardrailInspector over the size bound', () => {
  it('pass_uninspected forwards, flagged, and the record says it went uninspected', async () => {
    const verdict = await guardrailInspector(() => compiled({ maxInspectBytes: 1024, oversize: 'pass_uninspected' }))(input);
    expect(verdict).toMatchObject({ action: 'allow', notes: { flagged: true, findings: [{ type: 'oversize', ruleId: 'uninspected', action: 'flag' }] } });
  });

  it('block refuses with a guardrail error and no oversize note', async () => {
    const verdict = await guardrailInspector(() => compiled({ maxInspectBytes: 1024, oversize: 'block' }))(input);
    expect(verdict.action).toBe('block');
    expect(verdict.notes?.findings).toEqual([]);
  });

  it('labels JSON paths the way people read them', () => {
    expect(jsonPathLabel(['messages', 1, 'content', 0, 'text'])).toBe('messages[1].content[0].text');
  });
});
