/** Virtual-key rules of the stand-in and the error dialect of each route family. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { readVirtualKey } from '../support/standin-virtual-keys.js';
import { call, component, expectFits, schemaOf } from './helpers.js';

const ACTIVE = 'sk-bf-vk-active';
const INACTIVE = 'sk-bf-vk-inactive';

let bifrost: BifrostStandin;

beforeAll(async () => {
  bifrost = await startBifrostStandin({
    virtualKeys: [
      { value: ACTIVE, name: 'active' },
      { value: INACTIVE, name: 'inactive', is_active: false },
    ],
  });
});

afterAll(async () => {
  await bifrost.close();
});

interface FamilyCase {
  name: string;
  path: string;
  body: unknown;
  /** Pulls [type, message] out of the family's error body, after checking its shape. */
  read: (json: unknown, status: number) => [string, string];
}

const bifrostShape = (json: unknown, status: number): [string, string] => {
  expectFits(json, component('BifrostError'));
  const e = json as { is_bifrost_error: boolean; status_code: number; type: string; error: { type: string; message: string } };
  expect(e.is_bifrost_error).toBe(false);
  expect(e.status_code).toBe(status);
  expect(e.error.type).toBe(e.type);
  return [e.type, e.error.message];
};

const anthropicShape = (json: unknown): [string, string] => {
  expectFits(json, schemaOf('/anthropic/v1/messages', 'post', '400'));
  const e = json as { type: string; error: { type: string; message: string } };
  expect(Object.keys(e).sort()).toEqual(['error', 'type']);
  expect(e.type).toBe('error');
  return [e.error.type, e.error.message];
};

const geminiShape = (json: unknown, status: number): [string, string] => {
  expectFits(json, component('GeminiError'));
  const e = json as { error: { code: number; message: string; status: string; details: Array<{ reason: string }> } };
  expect(e.error.code).toBe(status);
  expect(e.error.status).toBe(status === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED');
  return [e.error.details[0]?.reason ?? '', e.error.message];
};

const chat = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const anthropic = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
const gemini = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

const families: FamilyCase[] = [
  { name: 'bifrost /v1', path: '/v1/chat/completions', body: chat, read: bifrostShape },
  { name: 'openai /openai/v1', path: '/openai/v1/chat/completions', body: chat, read: bifrostShape },
  { name: 'openai responses', path: '/openai/v1/responses', body: { model: 'gpt-4o', input: 'hi' }, read: bifrostShape },
  { name: 'anthropic', path: '/anthropic/v1/messages', body: anthropic, read: anthropicShape },
  { name: 'anthropic count_tokens', path: '/anthropic/v1/messages/count_tokens', body: anthropic, read: anthropicShape },
  { name: 'genai', path: '/genai/v1beta/models/gemini-2.5-flash:generateContent', body: gemini, read: geminiShape },
  { name: 'genai stream', path: '/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', body: gemini, read: geminiShape },
  { name: 'openai passthrough', path: '/openai_passthrough/v1/chat/completions', body: chat, read: bifrostShape },
  { name: 'anthropic passthrough', path: '/anthropic_passthrough/v1/messages', body: anthropic, read: anthropicShape },
  { name: 'genai passthrough', path: '/genai_passthrough/v1beta/models/gemini-2.5-flash:generateContent', body: gemini, read: geminiShape },
];

const verdicts: Array<{ name: string; headers: Record<string, string>; status: number; type: string }> = [
  { name: 'no key', headers: {}, status: 401, type: 'virtual_key_required' },
  { name: 'unknown key', headers: { 'x-bf-vk': 'sk-bf-who-is-this' }, status: 401, type: 'virtual_key_not_found' },
  { name: 'inactive key', headers: { 'x-bf-vk': INACTIVE }, status: 403, type: 'virtual_key_blocked' },
];

describe.each(families)('$name: virtual key rules', (family) => {
  it.each(verdicts)('$name → $status $type', async (v) => {
    const r = await call(bifrost.url, 'POST', family.path, family.body, { 'content-type': 'application/json', ...v.headers });
    expect(r.status).toBe(v.status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const [type, message] = family.read(r.json, v.status);
    expect(type).toBe(v.type);
    expect(message.length).toBeGreaterThan(10);
    expect(r.text).not.toContain('sk-bf-who-is-this');
  });

  it('an active key passes', async () => {
    const r = await call(bifrost.url, 'POST', family.path, family.body, { 'content-type': 'application/json', 'x-bf-vk': ACTIVE });
    expect(r.status).toBe(200);
  });
});

describe('where the key is read from', () => {
  const send = (headers: Record<string, string>) =>
    call(bifrost.url, 'POST', '/openai/v1/chat/completions', chat, { 'content-type': 'application/json', ...headers });

  it.each([
    ['x-bf-vk', { 'x-bf-vk': ACTIVE }],
    ['Authorization: Bearer', { authorization: `Bearer ${ACTIVE}` }],
    ['x-api-key', { 'x-api-key': ACTIVE }],
    ['x-goog-api-key', { 'x-goog-api-key': ACTIVE }],
  ])('accepts the key in %s', async (_where, headers) => {
    expect((await send(headers)).status).toBe(200);
  });

  it('ignores provider keys that are not sk-bf- keys', async () => {
    const r = await send({ authorization: 'Bearer sk-proj-abc', 'x-api-key': 'sk-ant-xyz', 'x-goog-api-key': 'AIzaSy-123' });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ type: 'virtual_key_required' });
  });

  it('x-bf-vk wins over an app\'s own sk-bf- key in Authorization', async () => {
    const r = await send({ 'x-bf-vk': ACTIVE, authorization: `Bearer ${INACTIVE}` });
    expect(r.status).toBe(200);
    expect(bifrost.received.at(-1)).toMatchObject({ virtualKey: ACTIVE, virtualKeySource: 'x-bf-vk' });
  });

  it('readVirtualKey follows the documented order', () => {
    expect(readVirtualKey({ authorization: `bearer ${ACTIVE}`, 'x-api-key': INACTIVE })).toEqual({ value: ACTIVE, source: 'authorization' });
    expect(readVirtualKey({ authorization: 'Basic abc', 'x-goog-api-key': ACTIVE })).toEqual({ value: ACTIVE, source: 'x-goog-api-key' });
    expect(readVirtualKey({})).toBeNull();
  });

  it('VK errors on /v1 carry the provider and model in extra_fields', async () => {
    const r = await call(bifrost.url, 'POST', '/v1/chat/completions', chat, { 'content-type': 'application/json' });
    expect(r.json).toMatchObject({ extra_fields: { provider: 'openai', model_requested: 'openai/gpt-4o' } });
  });

  it('model listings need a key too', async () => {
    for (const path of ['/v1/models', '/openai/v1/models', '/genai/v1beta/models']) {
      const r = await call(bifrost.url, 'GET', path);
      expect(r.status, path).toBe(401);
    }
  });

  it('/health needs no key', async () => {
    expect((await call(bifrost.url, 'GET', '/health')).status).toBe(200);
  });
});

describe('quota route', () => {
  const quota = (headers: Record<string, string>) => call(bifrost.url, 'GET', '/api/governance/virtual-keys/quota', undefined, headers);

  it('401 {error} without a key or with an unknown key, as the spec documents', async () => {
    const withoutAKnownKey: Array<Record<string, string>> = [{}, { 'x-bf-vk': 'sk-bf-nobody' }];
    for (const headers of withoutAKnownKey) {
      const r = await quota(headers);
      expect(r.status).toBe(401);
      expectFits(r.json, schemaOf('/api/governance/virtual-keys/quota', 'get', '401'));
      expect(typeof (r.json as { error: unknown }).error).toBe('string');
    }
  });

  it('an inactive key can still read its quota, reported inactive', async () => {
    const r = await quota({ 'x-bf-vk': INACTIVE });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ virtual_key_name: 'inactive', is_active: false });
  });

  it('the default provider configs allow every model of openai, anthropic and gemini', async () => {
    const r = await quota({ authorization: `Bearer ${ACTIVE}` });
    expectFits(r.json, schemaOf('/api/governance/virtual-keys/quota', 'get'));
    expect((r.json as { provider_configs: Array<{ provider: string; allowed_models: string[] }> }).provider_configs
      .map((p) => [p.provider, p.allowed_models])).toEqual([['openai', ['*']], ['anthropic', ['*']], ['gemini', ['*']]]);
  });
});

describe('requireVirtualKey: false', () => {
  it('serves requests without a key but still refuses unknown and inactive keys', async () => {
    const open = await startBifrostStandin({ requireVirtualKey: false, virtualKeys: [{ value: INACTIVE, is_active: false }] });
    try {
      const none = await call(open.url, 'POST', '/anthropic/v1/messages', anthropic, { 'content-type': 'application/json' });
      expect(none.status).toBe(200);
      const unknown = await call(open.url, 'POST', '/anthropic/v1/messages', anthropic, { 'content-type': 'application/json', 'x-api-key': 'sk-bf-unknown' });
      expect(unknown.status).toBe(401);
      expect(unknown.json).toMatchObject({ type: 'error', error: { type: 'virtual_key_not_found' } });
      const inactive = await call(open.url, 'POST', '/anthropic/v1/messages', anthropic, { 'content-type': 'application/json', 'x-bf-vk': INACTIVE });
      expect(inactive.status).toBe(403);
      const models = await call(open.url, 'GET', '/v1/models');
      expect((models.json as { data: unknown[] }).data.length).toBeGreaterThan(3);
    } finally {
      await open.close();
    }
  });
});

describe('key management', () => {
  it('defaults to the demo key sk-bf-demo-0000', async () => {
    const demo = await startBifrostStandin();
    try {
      const r = await call(demo.url, 'POST', '/v1/chat/completions', chat, { 'content-type': 'application/json', 'x-bf-vk': 'sk-bf-demo-0000' });
      expect(r.status).toBe(200);
      expect(demo.virtualKeys().map((k) => [k.name, k.value])).toEqual([['demo', 'sk-bf-demo-0000']]);
    } finally {
      await demo.close();
    }
  });

  it('setVirtualKeys replaces the keys the gateway knows', async () => {
    const s = await startBifrostStandin({ virtualKeys: [{ value: 'sk-bf-old' }] });
    try {
      s.setVirtualKeys([{ value: 'sk-bf-new', name: 'new' }]);
      const old = await call(s.url, 'POST', '/v1/chat/completions', chat, { 'content-type': 'application/json', 'x-bf-vk': 'sk-bf-old' });
      expect(old.status).toBe(401);
      const fresh = await call(s.url, 'POST', '/v1/chat/completions', chat, { 'content-type': 'application/json', 'x-bf-vk': 'sk-bf-new' });
      expect(fresh.status).toBe(200);
      s.setVirtualKeys([{ value: 'sk-bf-new', name: 'new', is_active: false }]);
      const blocked = await call(s.url, 'POST', '/v1/chat/completions', chat, { 'content-type': 'application/json', 'x-bf-vk': 'sk-bf-new' });
      expect(blocked.status).toBe(403);
    } finally {
      await s.close();
    }
  });

  it('refuses keys without the sk-bf- prefix, and duplicates', async () => {
    await expect(startBifrostStandin({ virtualKeys: [{ value: 'sk-proj-123' }] })).rejects.toThrow(/sk-bf-/);
    await expect(startBifrostStandin({ virtualKeys: [{ value: 'sk-bf-a' }, { value: 'sk-bf-a' }] })).rejects.toThrow(/twice/);
  });

  it('adminAuth guards the admin routes but not the quota route', async () => {
    const s = await startBifrostStandin({ adminAuth: { username: 'admin', password: 'pw' }, virtualKeys: [{ value: ACTIVE }] });
    try {
      const denied = await call(s.url, 'GET', '/api/governance/virtual-keys');
      expect(denied.status).toBe(401);
      expectFits(denied.json, component('BifrostError'));
      const basic = `Basic ${Buffer.from('admin:pw').toString('base64')}`;
      const allowed = await call(s.url, 'GET', '/api/governance/virtual-keys', undefined, { authorization: basic });
      expect(allowed.status).toBe(200);
      const quota = await call(s.url, 'GET', '/api/governance/virtual-keys/quota', undefined, { 'x-bf-vk': ACTIVE });
      expect(quota.status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
