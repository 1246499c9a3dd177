import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Mode } from '../../src/config/schema.js';
import { planWebSocketUpstream } from '../../src/gateway/websocket-route.js';

/** Where a WebSocket on an AI host goes, by mode, provider and path (the e2e test drives the same through Edge). */

const GATEWAY = 'https://bifrost.example.com/base';
const ORIGIN_URL = 'wss://api.openai.com/v1/responses';
const APP_KEY = 'sk-' + 'proj-app-key';

function plan(mode: Mode, path: string, headers: IncomingHttpHeaders, options: { provider?: string; virtualKey?: string | null } = {}) {
  const virtualKey = options.virtualKey === null ? undefined : options.virtualKey ?? 'sk-bf-ada';
  return planWebSocketUpstream({
    settings: { mode, gatewayUrl: GATEWAY, ...(virtualKey ? { virtualKey } : {}), originOverrides: {} },
    provider: 'provider' in options ? options.provider : 'openai',
    target: { host: 'api.openai.com', port: 443, tls: true, path, headers },
    originUrl: ORIGIN_URL,
    attribution: { user: 'ada@example.com', device: 'ada-laptop', app: 'codex' },
  });
}

describe('planWebSocketUpstream', () => {
  it('gateway mode: the Responses WebSocket goes to the gateway\'s /openai/v1/responses, keys and attribution as for HTTP', () => {
    const choice = plan('gateway', '/v1/responses?x=1', {
      host: 'api.openai.com', authorization: `Bearer ${APP_KEY}`, 'api-key': APP_KEY, 'x-bf-vk': 'sk-bf-spoofed', 'x-bf-lh-user': 'mallory',
      upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'abc', 'user-agent': 'codex/1.0',
    });
    expect(choice).toMatchObject({ kind: 'dial', via: 'gateway', url: 'wss://bifrost.example.com/base/openai/v1/responses?x=1' });
    if (choice.kind !== 'dial') return;
    expect(choice.headers).toMatchObject({
      host: 'bifrost.example.com', 'x-bf-vk': 'sk-bf-ada', 'x-bf-lh-user': 'ada@example.com', 'x-bf-lh-device': 'ada-laptop', 'x-bf-lh-app': 'codex', 'user-agent': 'codex/1.0',
    });
    expect(choice.headers['authorization']).toBeUndefined();
    expect(choice.headers['api-key']).toBeUndefined();
    expect(choice.headers['upgrade']).toBeUndefined();
  });

  it('gateway mode: an openai-insecure-api-key subprotocol is withheld, the others offered, and it answers the client when the gateway chose none', () => {
    const alone = plan('gateway', '/v1/responses', { 'sec-websocket-protocol': `openai-insecure-api-key.${APP_KEY}` });
    expect(alone).toMatchObject({ kind: 'dial', via: 'gateway', protocolWhenNoneChosen: `openai-insecure-api-key.${APP_KEY}` });
    if (alone.kind === 'dial') expect(alone.headers['sec-websocket-protocol']).toBeUndefined();
    const beside = plan('gateway', '/v1/responses', { 'sec-websocket-protocol': `responses.v1, openai-insecure-api-key.${APP_KEY}` });
    if (beside.kind !== 'dial') throw new Error('expected a dial');
    expect(beside.headers['sec-websocket-protocol']).toBe('responses.v1');
    const none = plan('gateway', '/v1/responses', { 'sec-websocket-protocol': 'responses.v1' });
    expect(none).not.toHaveProperty('protocolWhenNoneChosen');
  });

  it('gateway mode without a virtual key: refused with 401, as an HTTP request to the gateway is', () => {
    expect(plan('gateway', '/v1/responses', {}, { virtualKey: null })).toMatchObject({ kind: 'refuse', status: 401, errorType: 'virtual_key_required' });
  });

  it('to the origin, with the client\'s own headers: other WebSockets, other providers, pass-through and local mode', () => {
    const headers = { authorization: `Bearer ${APP_KEY}`, 'sec-websocket-protocol': `realtime, openai-insecure-api-key.${APP_KEY}` };
    const cases: Array<[Mode, string, string | undefined]> = [
      ['gateway', '/v1/realtime?model=gpt-realtime', 'openai'],
      ['gateway', '/v1/responses/extra', 'openai'],
      ['gateway', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent', 'gemini'],
      ['gateway', '/v1/responses', 'chatgpt'],
      ['gateway', '/v1/responses', undefined],
      ['passthrough', '/v1/responses', 'openai'],
      ['local', '/v1/responses', 'openai'],
    ];
    for (const [mode, path, provider] of cases) {
      expect(plan(mode, path, headers, { provider }), `${mode} ${provider} ${path}`).toEqual({ kind: 'dial', via: 'origin', url: ORIGIN_URL, headers });
    }
  });
});
