import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider (`oidc-provider`) running in-process on 127.0.0.1, issuing JWT access tokens
 * through the client-credentials grant with resource indicators. The audience of a token is the
 * resource asked for; tokens for SHORT_LIVED_RESOURCE live one second.
 */
export const EDGE_CONTROL_AUDIENCE = 'urn:bifrost-edge:control';
export const OTHER_AUDIENCE = 'urn:some-other-api';
export const SHORT_LIVED_RESOURCE = 'urn:bifrost-edge:control:short-lived';

export interface TestIssuer {
  issuer: string;
  /** The RSA private key the provider signs with (tests only use its kid). */
  kid: string;
  /** Gets a JWT access token from the provider's token endpoint. */
  accessToken(resource?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestIssuerOptions {
  email?: string;
  /** The token's `email_verified` claim; default true. */
  emailVerified?: boolean;
  groups?: string[];
}

export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = { ...(privateKey as KeyObject).export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'edge-device',
      client_secret: 'edge-device-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    // Lifetime comes from the resource server entry below (1 s for SHORT_LIVED_RESOURCE).
    ttl: { ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => EDGE_CONTROL_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'edge:enroll',
          audience: resource === SHORT_LIVED_RESOURCE ? EDGE_CONTROL_AUDIENCE : resource,
          accessTokenTTL: resource === SHORT_LIVED_RESOURCE ? 1 : 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async () => ({ email: options.email ?? 'ada@example.com', email_verified: options.emailVerified ?? true, groups: options.groups ?? ['engineering'] }),
  });
  server.on('request', provider.callback());

  return {
    issuer,
    kid,
    async accessToken(resource = EDGE_CONTROL_AUDIENCE) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('edge-device:edge-device-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'edge:enroll' }),
      });
      const body = await res.json() as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`test issuer refused a token: ${body.error} ${body.error_description}`);
      return body.access_token;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
