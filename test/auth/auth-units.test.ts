import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { AuthConfigError, DEFAULT_SCOPES, parseAuthConfig } from '../../src/auth/auth-config.js';
import { identityFromTokens } from '../../src/auth/identity.js';
import { startLoopbackRedirectListener } from '../../src/auth/loopback-redirect.js';
import { isLoopbackHostname } from '../../src/auth/loopback.js';
import { describeDuration } from '../../src/auth/oidc-login.js';
import { MAX_TIMER_MS, refreshDelayMs, retryDelayMs, RETRY_MAX_MS, UNKNOWN_EXPIRY_RENEWAL_MS } from '../../src/auth/refresh-schedule.js';
import { escapeHtml, signedInPage, signInFailedPage } from '../../src/auth/result-pages.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import { browserOpenerCommand } from '../../src/auth/system-browser.js';

describe('auth configuration', () => {
  it('applies defaults and accepts scopes as one string', () => {
    const config = parseAuthConfig({ issuer: 'https://login.example.com/realms/staff', clientId: 'edge' });
    expect(config.scopes).toEqual([...DEFAULT_SCOPES]);
    expect(config).toMatchObject({ groupsClaim: 'groups', loginTimeoutSeconds: 300 });
    expect(parseAuthConfig({ issuer: 'https://x.example', clientId: 'edge', scopes: 'openid  email groups' }).scopes).toEqual(['openid', 'email', 'groups']);
    expect(parseAuthConfig({ issuer: 'http://127.0.0.1:8080', clientId: 'edge' }).issuer).toBe('http://127.0.0.1:8080');
    expect(parseAuthConfig({ issuer: 'https://x.example', clientId: 'edge', audience: 'https://edge-control.example.com', resource: 'https://edge-control.example.com' })).toMatchObject({ audience: 'https://edge-control.example.com' });
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['missing section', undefined, /sign-in is not configured \(no "auth" section in the managed configuration\)\. Ask IT to set auth\.issuer and auth\.clientId/],
    ['missing client id', { issuer: 'https://x.example' }, /- auth\.clientId: is required/],
    ['client id of the wrong type', { issuer: 'https://x.example', clientId: 5 }, /- auth\.clientId: Invalid input: expected string, received number/],
    ['insecure network issuer', { issuer: 'http://login.example.com', clientId: 'e' }, /- auth\.issuer: must use https:\/\/ \(plain http:\/\/ is only accepted for 127\.0\.0\.1\/localhost issuers\)/],
    ['not a URL', { issuer: 'login.example.com', clientId: 'e' }, /- auth\.issuer: must be the identity provider's issuer URL/],
    ['issuer with query', { issuer: 'https://x.example/?tenant=1', clientId: 'e' }, /must not contain a query/],
    ['scopes without openid', { issuer: 'https://x.example', clientId: 'e', scopes: ['email'] }, /- auth\.scopes: must include "openid"/],
    ['unknown prompt', { issuer: 'https://x.example', clientId: 'e', prompt: 'always' }, /- auth\.prompt: must be one or more of none, login, consent, select_account/],
    ['unknown field', { issuer: 'https://x.example', clientId: 'e', clientSecret: 's' }, /unknown field\(s\) "clientSecret"; remove them/],
  ];
  it.each(refused)('refuses %s with a message that says what to fix', (_name, input, message) => {
    expect(() => parseAuthConfig(input)).toThrow(AuthConfigError);
    expect(() => parseAuthConfig(input)).toThrow(message);
  });

  it('knows which hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) expect(isLoopbackHostname(host)).toBe(true);
    for (const host of ['127.0.0.1.example.com', '10.0.0.1', 'example.com', '0.0.0.0']) expect(isLoopbackHostname(host)).toBe(false);
  });
});

describe('refresh schedule', () => {
  const cases: Array<[string, number, number]> = [
    // [lifetime, expected delay from receipt]
    ['one hour: at 80% (48 min)', 3_600_000, 2_880_000],
    ['five minutes: 60 s before expiry (= 80%)', 300_000, 240_000],
    ['two minutes: 60 s before expiry (half-life)', 120_000, 60_000],
    ['four seconds: half-life, never a tight loop', 4_000, 2_000],
  ];
  it.each(cases)('%s', (_name, lifetime, expected) => {
    expect(refreshDelayMs(1_000_000, 1_000_000 + lifetime, 1_000_000)).toBe(expected);
  });

  it('refreshes at once when already due, and never overflows timers', () => {
    expect(refreshDelayMs(0, 60_000, 59_000)).toBe(0);
    expect(refreshDelayMs(0, 365 * 24 * 3_600_000, 0)).toBe(MAX_TIMER_MS);
  });

  it('renews a token of unknown (or already past) expiry every few minutes, never in a loop', () => {
    expect(UNKNOWN_EXPIRY_RENEWAL_MS).toBeGreaterThanOrEqual(3 * 60_000);
    expect(refreshDelayMs(1_000_000, undefined, 1_000_000)).toBe(UNKNOWN_EXPIRY_RENEWAL_MS);
    expect(refreshDelayMs(1_000_000, undefined, 1_060_000)).toBe(UNKNOWN_EXPIRY_RENEWAL_MS - 60_000);
    // Just received, yet "expiring" at or before receipt: no usable expiry.
    expect(refreshDelayMs(1_000_000, 1_000_000, 1_000_000)).toBe(UNKNOWN_EXPIRY_RENEWAL_MS);
    expect(refreshDelayMs(1_000_000, 900_000, 1_000_000)).toBe(UNKNOWN_EXPIRY_RENEWAL_MS);
    // Saved long ago: due at once, then (received anew) every few minutes.
    expect(refreshDelayMs(0, undefined, 3_600_000)).toBe(0);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(15_000);
    expect(retryDelayMs(2, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(20, () => 0.5)).toBe(RETRY_MAX_MS);
    expect(retryDelayMs(1, () => 0)).toBe(12_000);
    expect(retryDelayMs(1, () => 1)).toBe(18_000);
  });
});

describe('identity', () => {
  const base: SessionTokens = {
    version: 1, issuer: 'https://idp', clientId: 'c', accessToken: 'a', tokenType: 'bearer', idToken: 'i', receivedAt: 0,
    accessTokenExpiresAt: Date.UTC(2030, 0, 1),
    idTokenClaims: { sub: 'u1', email: 'old@example.com', roles: 'admin', given_name: 'Ada', family_name: 'Lovelace' },
  };
  it('prefers userinfo, builds a name, and reads groups from the configured claim', () => {
    expect(identityFromTokens({ ...base, userInfo: { sub: 'u1', email: 'ada@example.com', groups: ['eng', 42, ''] } })).toEqual({
      sub: 'u1', email: 'ada@example.com', name: 'Ada Lovelace', groups: ['eng'], issuer: 'https://idp', expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(identityFromTokens(base, 'roles').groups).toEqual(['admin']);
    expect(identityFromTokens(base).groups).toEqual([]);
  });
});

describe('loopback redirect listener', () => {
  function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      http.get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      }).on('error', reject);
    });
  }

  function head(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http.request(url, { method: 'HEAD' }, (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode!, body: '' }));
      }).on('error', reject).end();
    });
  }

  it('listens on 127.0.0.1 only, answers the first callback with the chosen page, and refuses the rest', async () => {
    const listener = await startLoopbackRedirectListener();
    try {
      expect(listener.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      const base = listener.redirectUri.replace('/callback', '');

      expect((await get(`${base}/favicon.ico`)).status).toBe(404);
      // A rebinding attack arrives with someone else's Host header.
      expect((await get(`${listener.redirectUri}?code=x`, { host: 'evil.example:80' })).status).toBe(400);

      const next = listener.nextCallback('s1');
      const first = get(`${listener.redirectUri}?code=abc&state=s1`);
      const callback = await next;
      expect(callback.url.searchParams.get('code')).toBe('abc');
      callback.respond(signedInPage('alice@example.com'));
      const page = await first;
      expect(page.status).toBe(200);
      expect(page.body).toContain('you can close this tab');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");

      const second = await get(`${listener.redirectUri}?code=def&state=s1`);
      expect(second.status).toBe(409);
      expect(second.body).toContain('already received');
    } finally {
      await listener.close();
    }
  });

  it('waits for the return of its own sign-in: a probe, a prefetch or a forged link is refused and changes nothing', async () => {
    const listener = await startLoopbackRedirectListener();
    try {
      let settled = false;
      const next = listener.nextCallback('s1').then((callback) => {
        settled = true;
        return callback;
      });
      const refusals: Array<[string, Promise<{ status: number; body: string }>]> = [
        ['a HEAD prefetch', head(`${listener.redirectUri}?code=abc&state=s1`)],
        ['another sign-in\'s state', get(`${listener.redirectUri}?code=stolen&state=s0`)],
        ['no state at all', get(`${listener.redirectUri}?code=abc`)],
        ['a local port scan', get(listener.redirectUri)],
      ];
      for (const [what, response] of refusals) {
        const { status, body } = await response;
        expect(status, what).toBe(400);
        if (body) expect(body, what).toContain('does not belong to the sign-in Bifrost Edge is waiting for');
      }
      expect(settled).toBe(false);

      const real = get(`${listener.redirectUri}?code=abc&state=s1`);
      const callback = await next;
      expect(callback.url.searchParams.get('code')).toBe('abc');
      callback.respond(signedInPage());
      expect((await real).status).toBe(200);
    } finally {
      await listener.close();
    }
  });

  it('answers a browser still waiting when the sign-in is abandoned', async () => {
    const listener = await startLoopbackRedirectListener();
    const next = listener.nextCallback('s1');
    const pending = get(`${listener.redirectUri}?code=abc&state=s1`);
    await next;
    await listener.close();
    expect((await pending).status).toBe(410);
  });
});

describe('result pages and browser opener', () => {
  it('escapes everything put into a page', () => {
    expect(escapeHtml(`<script>"x" & 'y'</script>`)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
    expect(signInFailedPage('<img src=x onerror=alert(1)>').html).not.toContain('<img');
    expect(signedInPage('<b>').html).toContain('&lt;b&gt;');
  });

  it('opens URLs with the platform opener, keeping & intact for cmd.exe', () => {
    const url = 'https://login.example.com/authorize?a=1&b=2';
    expect(browserOpenerCommand(url, 'darwin')).toEqual({ file: 'open', args: [url] });
    expect(browserOpenerCommand(url, 'linux')).toEqual({ file: 'xdg-open', args: [url] });
    expect(browserOpenerCommand(url, 'win32')).toEqual({ file: 'cmd.exe', args: ['/d', '/s', '/c', `"start "" "${url}""`], verbatim: true });
  });

  it('describes waits in words', () => {
    expect(describeDuration(300_000)).toBe('5 minutes');
    expect(describeDuration(90_000)).toBe('90 seconds');
    expect(describeDuration(250)).toBe('250 ms');
  });
});
