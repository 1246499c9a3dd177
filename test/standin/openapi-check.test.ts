/** The schema checker the stand-in tests lean on must actually catch mistakes. */
import { describe, expect, it } from 'vitest';

import { checkSchema, responseSchema } from '../support/standin-openapi-check.js';
import { component, spec } from './helpers.js';

describe('checkSchema', () => {
  it('flags wrong types deep inside a referenced schema', () => {
    const problems = checkSchema(spec, component('ChatCompletionResponse'), {
      id: 'x',
      choices: [{ index: '0', message: { role: 'assistant', content: 'hi' } }],
      usage: { prompt_tokens: 1.5 },
    });
    expect(problems).toEqual([
      '$.choices[0].index: expected integer, got string',
      '$.usage.prompt_tokens: expected integer, got number',
    ]);
  });

  it('flags missing required properties and enum violations', () => {
    const problems = checkSchema(spec, component('VirtualKeyQuotaResponse'), { virtual_key_name: 'a', is_active: 'yes', budgets: null });
    expect(problems).toContain('$: missing required property "rate_limit"');
    expect(problems).toContain('$: missing required property "provider_configs"');
    expect(problems).toContain('$.is_active: expected boolean, got string');
    expect(checkSchema(spec, component('AnthropicMessageResponse'), { stop_reason: 'because' })[0]).toMatch(/is not one of/);
  });

  it('accepts null where the type list, nullable or an enum admits it', () => {
    expect(checkSchema(spec, component('VirtualKeyQuotaResponse'), {
      virtual_key_name: 'a', is_active: true, budgets: null, rate_limit: null, provider_configs: null,
    })).toEqual([]);
    expect(checkSchema(spec, component('AnthropicMessageResponse'), { stop_reason: null, stop_sequence: null })).toEqual([]);
    expect(checkSchema(spec, component('ChatCompletionResponse'), { id: null })).toEqual(['$.id: expected string, got null']);
  });

  it('needs one oneOf branch to fit', () => {
    const schema = component('ChatMessage');
    expect(checkSchema(spec, schema, { role: 'user', content: 'text' })).toEqual([]);
    expect(checkSchema(spec, schema, { role: 'user', content: [{ type: 'text', text: 'hi' }] })).toEqual([]);
    expect(checkSchema(spec, schema, { role: 'user', content: 42 })[0]).toBe('$.content: fits no oneOf branch');
  });

  it('finds response schemas by path, method and status', () => {
    expect(responseSchema(spec, '/v1/chat/completions', 'POST', '200')).toEqual({ $ref: '#/components/schemas/ChatCompletionResponse' });
    expect(() => responseSchema(spec, '/nope', 'get', '200')).toThrow(/no application\/json schema/);
  });
});
