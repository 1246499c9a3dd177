import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const TEST_CLIENT_ID = 'bifrost-edge-test';

/** Knobs a test turns on the running provider; read on every request. */
export interface ProviderSettings {
  accessTokenTtlSeconds: number;
  idTokenTtlSeconds: number;
  /** Shifts the provider's clock while it answers the token endpoint (negative = slow clock). */
  tokenEndpointClockOffsetSeconds: number;
}

export interface TestProvider {
  issuer: string;
  settings: ProviderSettings;
  /** Serves this same provider (whose metadata says `issuer`) from another port: a mix-up for any client expecting that port. */
  serveElsewhere(): Promise<string>;
  close(): Promise<void>;
}

const DEFAULT_SETTINGS: ProviderSettings = { accessTokenTtlSeconds: 600, idTokenTtlSeconds: 600, tokenEndpointClockOffsetSeconds: 0 };

/**
 * A real, certified OpenID Provider (oidc-provider) in-process on 127.0.0.1, with Bifrost Edge
 * registered as a native public client. Its built-in dev login form accepts any login name; the
 * account's claims are derived from it.
 */
export async function startTestProvider(): Promise<TestProvider> {
  const server = http.createServer();
  await listen(server);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings: ProviderSettings = { ...DEFAULT_SETTINGS };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // Loopback redirect for native clients: oidc-provider accepts any port (RFC 8252 §7.3).
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({
        sub,
        email: `${sub}@example.com`,
        email_verified: true,
        name: `Test ${sub.charAt(0).toUpperCase()}${sub.slice(1)}`,
        groups: ['engineering', 'ai-users'],
      }),
    }),
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: () => settings.accessTokenTtlSeconds,
      IdToken: () => settings.idTokenTtlSeconds,
      AuthorizationCode: 60,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
    },
  });

  // A provider with a slow clock: issues tokens that are already expired by the client's clock.
  provider.use(async (ctx: { path: string }, next: () => Promise<void>) => {
    const offsetMs = settings.tokenEndpointClockOffsetSeconds * 1000;
    if (ctx.path !== '/token' || offsetMs === 0) return next();
    const realNow = Date.now;
    Date.now = () => realNow() + offsetMs;
    try {
      await next();
    } finally {
      Date.now = realNow;
    }
  });

  const callback = provider.callback();
  server.on('request', callback);
  const mirrors: http.Server[] = [];

  return {
    issuer,
    settings,
    async serveElsewhere() {
      const mirror = http.createServer(callback);
      await listen(mirror);
      mirrors.push(mirror);
      return `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
    },
    async close() {
      for (const s of [server, ...mirrors]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}


function listen(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}
