/**
 * The part of `oidc-provider` (a dev dependency, shipped without typings) that the test OpenID Providers use:
 * test/auth/oidc-test-provider.ts and test/control/support/oidc-issuer.ts. Only what they configure is
 * declared, so a misspelt option or a callback of the wrong shape is a type error rather than a provider
 * that silently ignores it. @types/oidc-provider (DefinitelyTyped) would replace this file if it were added.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** A client registered in the configuration (RFC 7591 metadata names). */
  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    application_type?: 'web' | 'native';
    token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
    redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
  }

  /** What the provider hands configuration callbacks about a client. */
  export interface Client {
    clientId: string;
    grantTypeAllowed(type: string): boolean;
  }

  /** What the provider hands configuration callbacks about a token or code it is issuing. */
  export interface IssuedToken {
    scopes: Set<string>;
    resourceServer?: ResourceServer;
  }

  export interface ResourceServer {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string } };
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>>;
  }

  /** The Koa context of the request being answered (only what the tests read). */
  export interface ProviderContext {
    path: string;
  }

  /** A lifetime in seconds, fixed or decided per token. */
  export type TokenTtl = number | ((ctx: ProviderContext, token: IssuedToken, client: Client) => number);

  export interface Configuration {
    clients?: ClientMetadata[];
    jwks?: { keys: object[] };
    scopes?: string[];
    claims?: Record<string, string[]>;
    features?: {
      devInteractions?: { enabled: boolean };
      revocation?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: ProviderContext, client: Client, oneOf?: string[]) => string | string[] | undefined | Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: ProviderContext, model: IssuedToken) => boolean | Promise<boolean>;
        getResourceServerInfo?: (ctx: ProviderContext, resourceIndicator: string, client: Client) => ResourceServer | Promise<ResourceServer>;
      };
    };
    findAccount?: (ctx: ProviderContext, sub: string) => Account | undefined | Promise<Account | undefined>;
    pkce?: { required?: (ctx: ProviderContext, client: Client) => boolean };
    issueRefreshToken?: (ctx: ProviderContext, client: Client, code: IssuedToken) => boolean | Promise<boolean>;
    rotateRefreshToken?: boolean | ((ctx: ProviderContext) => boolean | Promise<boolean>);
    ttl?: Record<string, TokenTtl>;
    extraTokenClaims?: (ctx: ProviderContext, token: IssuedToken) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    /** Adds a Koa middleware in front of the provider's own routes. */
    use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
    /** The request listener to mount on a Node HTTP server. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
