import { describe, expect, it } from 'vitest';
import { bifrostWebSocketRoute, webSocketVia } from '../../src/gateway/websocket-route.js';
import { posesAsWebSocketApi, webSocketApiAt, webSocketApiOf } from '../../src/proxy/websocket-api.js';

/**
 * Which WebSocket API a path speaks is decided in one place, on the path as the origin routes it (routablePath, as
 * HTTP routes are matched): a trailing slash or a letter percent-encoded names the same API, so the socket is read,
 * and in gateway mode it goes where the HTTP request to that path goes, with the canonical path.
 */

const GEMINI_LIVE = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

describe('webSocketApiAt', () => {
  it.each([
    ['openai', '/v1/responses', 'openai-responses', '/v1/responses'],
    ['openai', '/v1/responses/', 'openai-responses', '/v1/responses'],
    ['openai', '/v1/respons%65s', 'openai-responses', '/v1/responses'],
    ['openai', '/v1/%72esponses', 'openai-responses', '/v1/responses'],
    ['openai', '/%761/responses/', 'openai-responses', '/v1/responses'],
    ['openai', '/v1/realtime?model=gpt-realtime', 'openai-realtime', '/v1/realtime'],
    ['openai', '/v1/realtim%65?model=gpt-realtime', 'openai-realtime', '/v1/realtime'],
    ['openai', '/v1/%72ealtime/?model=gpt-realtime', 'openai-realtime', '/v1/realtime'],
    ['chatgpt-web', '/backend-api/codex/responses', 'openai-responses', '/backend-api/codex/responses'],
    ['chatgpt-web', '/backend-api/codex/respons%65s/', 'openai-responses', '/backend-api/codex/responses'],
    ['gemini', `${GEMINI_LIVE}?key=k`, 'gemini-live', GEMINI_LIVE],
    ['gemini', `${GEMINI_LIVE.replace('BidiGenerateContent', 'BidiGenerat%65Content')}/`, 'gemini-live', GEMINI_LIVE],
    ['gemini', `${GEMINI_LIVE}Constrained`.replace('generativelanguage', 'generativ%65language'), 'gemini-live', `${GEMINI_LIVE}Constrained`],
  ] as const)('%s %s is %s on %s', (provider, path, api, pathname) => {
    expect(webSocketApiAt(provider, path)).toMatchObject({ api, pathname });
    expect(webSocketApiOf(provider, path)).toBe(api);
  });

  it.each([
    ['openai', '/v1/responses//'],
    ['openai', '/v1/./responses'],
    ['openai', '/v1/%2e/responses'],
    ['openai', '/v1/responses%2f'],
    ['openai', '/v1/responses/x'],
    ['openai', '/v1/realtime/sessions'],
    ['anthropic', '/v1/responses'],
    ['chatgpt-web', '/v1/responses'],
  ])('%s %s names no API Edge reads', (provider, path) => {
    expect(webSocketApiAt(provider, path)).toBeUndefined();
  });
});

describe('the gateway route of a WebSocket follows the same decision', () => {
  const settings = { mode: 'gateway' as const, gatewayUrl: 'https://bifrost.example.com' };

  it.each(['/v1/responses', '/v1/responses/', '/v1/respons%65s', '/v1/%72esponses'])('%s goes to the gateway\'s canonical path', (path) => {
    expect(bifrostWebSocketRoute('openai', `${path}?trace=1`, 'gateway')).toEqual({ path: '/openai/v1/responses?trace=1' });
    expect(webSocketVia(settings, 'openai', path)).toBe('gateway');
  });

  it.each([
    ['openai', '/v1/realtime/'],
    ['openai', '/v1/./responses'],
    ['chatgpt-web', '/backend-api/codex/responses'],
  ])('%s %s has no gateway route', (provider, path) => {
    expect(bifrostWebSocketRoute(provider, path, 'gateway')).toBeNull();
    expect(webSocketVia(settings, provider, path)).toBe('origin');
  });
});

describe('posesAsWebSocketApi: paths Edge does not read that an origin may route to an API it reads', () => {
  it.each([
    ['openai', '/V1/Responses'],
    ['openai', '/v1/Responses'],
    ['openai', '/v1/responses;x=1'],
    ['openai', '/v1/responses%20'],
    ['openai', '/v1/realtime;x?model=gpt-realtime'],
    ['openai', '/V1/REALTIME?model=gpt-realtime'],
    ['chatgpt-web', '/backend-api/Codex/responses'],
    // Every reading route-lookalike.ts makes of an HTTP path: trailing dots, tabs or control bytes, `..;` segments.
    ['azure', '/openai/realtime.?deployment=voice-prod'],
    ['azure', '/openai./realtime?deployment=voice-prod'],
    ['azure', '/openai/realtime%09?deployment=voice-prod'],
    ['azure', '/openai/realtime%0A?deployment=voice-prod'],
    ['azure', '/x/..;/openai/realtime?deployment=voice-prod'],
    ['azure', '/openai/v1/Realtime.?model=voice-prod'],
    ['openai', '/v1/realtime.?model=gpt-realtime'],
    ['openai', '/v1./responses'],
    ['openai', '/v1/responses%0A'],
    ['openai', '/x/..;/v1/responses'],
    ['chatgpt-web', '/backend-api/codex/responses.'],
    ['chatgpt-web', '/backend-api/x/..;/codex/responses'],
    // Gemini Live's path has capitals of its own: a lenient reading is matched whatever the letter case.
    ['gemini', `${GEMINI_LIVE};x`],
    ['gemini', `${GEMINI_LIVE.toLowerCase()}`],
    ['gemini', `${GEMINI_LIVE}.`],
    ['gemini', `/x/..;${GEMINI_LIVE}`],
  ] as const)('%s %s is refused', (provider, path) => {
    expect(webSocketApiOf(provider, path)).toBeUndefined();
    expect(posesAsWebSocketApi(provider, path)).toBe(true);
  });

  it.each([
    ['openai', '/v1/responses'],
    ['openai', '/v1/realtime?model=gpt-realtime'],
    ['openai', '/v1/audio/speech'],
    ['openai', '/v1/responses/resp_1'],
    ['gemini', '/v1/realtime'],
    ['azure', '/openai/realtime?deployment=voice-prod'],
    ['azure', '/openai/realtime/?deployment=voice-prod'],
    ['azure', '/openai/realtimes?deployment=voice-prod'],
    ['chatgpt-web', '/backend-api/codex/responses'],
    ['gemini', GEMINI_LIVE],
  ] as const)('%s %s is not (read as its API, or no API at all)', (provider, path) => {
    expect(posesAsWebSocketApi(provider, path)).toBe(false);
  });

  it('a path whose escapes nest deeper than Edge decodes is taken for an API on a host that has one', () => {
    // `/v1/realtime` with its `r` escaped five times over: a server that keeps decoding reads the Realtime API.
    let r = 'r';
    for (let i = 0; i < 5; i++) r = encodeURIComponent(i === 0 ? '%72' : r);
    expect(posesAsWebSocketApi('openai', `/v1/${r}ealtime?model=gpt-realtime`)).toBe(true);
    expect(posesAsWebSocketApi('claude-web', `/v1/${r}ealtime`)).toBe(false);
  });

  it.each([
    ['openai', '/v1/responses%3Fx'],
    ['openai', '/v1/responses%23'],
    ['copilot', '/responses%3Fx'],
    ['copilot', '/v1/responses%253F'],
    ['xai', '/v1/responses%3F'],
    ['azure', '/openai/v1/responses%23frag'],
  ] as const)('%s %s: an escaped ? or # ends the path for a server that decodes first, so it is taken for the API', (provider, path) => {
    expect(posesAsWebSocketApi(provider, path)).toBe(true);
  });
});
