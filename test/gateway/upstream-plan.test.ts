import { describe, expect, it } from 'vitest';
import { joinUrl, planUpstream, type RequestTarget, type UpstreamSettings } from '../../src/gateway/upstream-plan.js';

const openaiRequest: RequestTarget = {
  host: 'api.openai.com',
  port: 443,
  tls: true,
  path: '/v1/chat/completions?x=1',
  headers: {
    host: 'api.openai.com',
    authorization: 'Bearer sk-proj-app-own-key',
    'content-type': 'application/json',
    connection: 'keep-alive, x-drop-me',
    'x-drop-me': '1',
    'proxy-authorization': 'Basic abc',
    'x-bf-vk': 'sk-bf-app-chosen',
    'x-bf-lh-user': 'spoofed',
    'transfer-encoding': 'chunked',
  },
};

const gateway: UpstreamSettings = { mode: 'gateway', gatewayUrl: 'https://gw.example.com/base/', virtualKey: 'sk-bf-employee', originOverrides: {} };

describe('planUpstream', () => {
  it('gateway mode: Bifrost route, employee key, no provider credential, attribution headers', () => {
    const plan = planUpstream(gateway, openaiRequest, { path: '/openai/v1/chat/completions?x=1' }, { user: 'ada@example.com', device: 'laptop-7', app: 'openai-node' });
    expect(plan.via).toBe('gateway');
    expect(plan.url.toString()).toBe('https://gw.example.com/base/openai/v1/chat/completions?x=1');
    expect(plan.headers['x-bf-vk']).toBe('sk-bf-employee');
    expect(plan.headers.authorization).toBeUndefined();
    expect(plan.headers['x-bf-lh-user']).toBe('ada@example.com');
    expect(plan.headers['x-bf-lh-device']).toBe('laptop-7');
    expect(plan.headers['x-bf-lh-app']).toBe('openai-node');
    expect(plan.headers.host).toBe('gw.example.com');
    for (const hop of ['connection', 'x-drop-me', 'proxy-authorization', 'transfer-encoding']) expect(plan.headers[hop]).toBeUndefined();
    expect(plan.headers['content-type']).toBe('application/json');
  });

  it.each(['x-api-key', 'x-goog-api-key', 'api-key', 'authorization'])('gateway mode strips %s', (name) => {
    const plan = planUpstream(gateway, { ...openaiRequest, headers: { [name]: 'provider-secret' } }, { path: '/openai/v1/models' }, {});
    expect(plan.headers[name]).toBeUndefined();
  });

  it('pass-through keeps the app credential but never an app-supplied Bifrost key', () => {
    const settings = { ...gateway, mode: 'passthrough' as const };
    const keep = planUpstream(settings, openaiRequest, { path: '/openai_passthrough/v1/chat/completions' }, {});
    expect(keep.via).toBe('passthrough');
    expect(keep.headers.authorization).toBe('Bearer sk-proj-app-own-key');
    expect(keep.headers['x-bf-vk']).toBe('sk-bf-employee');
    const vkInAuth = planUpstream(settings, { ...openaiRequest, headers: { authorization: 'Bearer sk-bf-someone-else', 'x-api-key': 'sk-bf-other' } }, { path: '/x' }, {});
    expect(vkInAuth.headers.authorization).toBeUndefined();
    expect(vkInAuth.headers['x-api-key']).toBeUndefined();
  });

  it('model rewrite is carried in the plan', () => {
    const plan = planUpstream(gateway, openaiRequest, { path: '/openai/v1/chat/completions', model: 'groq/llama-3.3-70b' }, {});
    expect(plan.rewriteModel).toBe('groq/llama-3.3-70b');
  });

  it('local mode and routes without a Bifrost mapping go to the origin untouched', () => {
    const local = planUpstream({ mode: 'local', originOverrides: {} }, openaiRequest, null, { user: 'ada' });
    expect(local.via).toBe('origin');
    expect(local.url.toString()).toBe('https://api.openai.com/v1/chat/completions?x=1');
    expect(local.headers.authorization).toBe('Bearer sk-proj-app-own-key');
    expect(local.headers['x-bf-lh-user']).toBe('spoofed'); // not ours to touch: the app sent it to its provider
    const web = planUpstream(gateway, { ...openaiRequest, host: 'chatgpt.com' }, null, { user: 'ada' });
    expect(web.via).toBe('origin');
    expect(web.url.host).toBe('chatgpt.com');
  });

  it('origin overrides and non-default ports', () => {
    const overridden = planUpstream({ mode: 'local', originOverrides: { 'api.openai.com': 'https://127.0.0.1:9443' } }, openaiRequest, null, {});
    expect(overridden.url.toString()).toBe('https://127.0.0.1:9443/v1/chat/completions?x=1');
    expect(overridden.headers.host).toBe('127.0.0.1:9443');
    const plain = planUpstream({ mode: 'local', originOverrides: {} }, { ...openaiRequest, tls: false, port: 8080 }, null, {});
    expect(plain.url.toString()).toBe('http://api.openai.com:8080/v1/chat/completions?x=1');
  });

  it('attribution values are made header-safe', () => {
    const plan = planUpstream(gateway, openaiRequest, { path: '/openai/v1/models' }, { user: 'zoë\r\nx-evil: 1' });
    expect(plan.headers['x-bf-lh-user']).toBe('zo???x-evil: 1'); // CR/LF can never split the header
  });
});

describe('joinUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', '/openai/v1/x?a=b', 'http://127.0.0.1:8080/openai/v1/x?a=b'],
    ['https://gw/prefix', '/openai/v1/x', 'https://gw/prefix/openai/v1/x'],
    ['https://gw/prefix/', 'openai', 'https://gw/prefix/openai'],
  ])('%s + %s', (base, p, expected) => {
    expect(joinUrl(base, p).toString()).toBe(expected);
  });
});
