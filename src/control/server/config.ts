import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { httpUrl, LOOPBACK_HOSTS, secureServiceUrl } from '../../util/config-fields.js';
import { PolicyTemplateSchema } from '../protocol/admin.js';


/** Asymmetric JWS algorithms only: a shared-secret (HS*) token could be minted by anyone holding the client secret. */
export const DEFAULT_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export const OidcIssuerConfigSchema = z.strictObject({
  /** Exactly the `iss` the identity provider puts in its tokens. */
  issuer: httpUrl,
  /** Accepted `aud` value(s): the client id for ID tokens, the API identifier for access tokens. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Skips discovery (`<issuer>/.well-known/openid-configuration`) when set. */
  jwks_uri: httpUrl.optional(),
  email_claim: z.string().min(1).default('email'),
  /**
   * The standard `email` claim counts (for assignments and attribution) only when the token or
   * userinfo also says `email_verified: true`: at many providers people can set their own address,
   * and an unverified one could claim another person's virtual keys. Set true for a provider that only
   * issues verified addresses but leaves email_verified out. A custom email_claim (e.g. `upn`) is an
   * attribute the admin chose and is used as is.
   */
  trust_unverified_email: z.boolean().default(false),
  name_claim: z.string().min(1).default('name'),
  groups_claim: z.string().min(1).default('groups'),
  algorithms: z.array(z.enum(DEFAULT_TOKEN_ALGORITHMS)).min(1).default([...DEFAULT_TOKEN_ALGORITHMS]),
  clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
  /**
   * Many providers keep email and groups out of ID tokens (OIDC's default: claims requested by scope
   * go to the userinfo endpoint). `when_missing` asks userinfo, with the access token the device sends
   * along, for the ones the token lacks; `never` trusts the token alone.
   */
  userinfo: z.enum(['when_missing', 'never']).default('when_missing'),
  /** Skips discovery of the userinfo endpoint when set. */
  userinfo_endpoint: httpUrl.optional(),
});

const GatewayAdminAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }),
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1) }),
]);

/**
 * `bifrost-edge control serve --config F`. Paths are resolved against the config file's folder.
 * Field names are snake_case like the wire protocol, so a policy can be pasted between the two.
 */
export const ControlServerConfigSchema = z.strictObject({
  listen: z.strictObject({
    host: z.string().regex(LOOPBACK_HOSTS, { message: 'must be a loopback address (127.0.0.1, ::1 or localhost); publish the server through a TLS reverse proxy' }).default('127.0.0.1'),
    /** 0 picks a free port (tests). */
    port: z.number().int().min(0).max(65535).default(8791),
  }).prefault({}),
  log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Bearer token for /api/edge/v1/admin/*. Long and random: it can change every device's policy. */
  admin_token: z.string().min(16, { message: 'must be at least 16 characters; generate one with: openssl rand -hex 32' }),
  oidc: z.strictObject({
    issuers: z.array(OidcIssuerConfigSchema).default([]),
  }).prefault({}),
  /** Lets a device enroll by presenting a virtual key the gateway knows (no identity provider needed). */
  allow_virtual_key_enrollment: z.boolean().default(false),
  gateway: z.strictObject({
    /** Where this server reads virtual keys (`/api/governance/virtual-keys`), with the admin credential. */
    url: secureServiceUrl('the gateway admin credential (and, as the default public_url, devices\' virtual keys)'),
    /** The URL devices send AI traffic to, put in bundles; default `url`. */
    public_url: secureServiceUrl('devices\' virtual keys and AI requests').optional(),
    admin_auth: GatewayAdminAuthSchema.optional(),
    poll_interval_seconds: z.number().min(0.05).default(30),
    request_timeout_seconds: z.number().positive().default(10),
  }),
  /**
   * Who gets which virtual keys (by Bifrost key id). `users` keys match a token's `sub` or email;
   * `groups` match its groups claim; `default` applies to anyone no user or group entry matched.
   */
  assignments: z.strictObject({
    users: z.record(z.string(), z.array(z.string().min(1))).default({}),
    groups: z.record(z.string(), z.array(z.string().min(1))).default({}),
    default: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  /** The Edge policy template to start from; admin edits (PUT /api/edge/v1/admin/policy) are kept in storage. */
  policy: PolicyTemplateSchema.prefault({}),
  /**
   * Ed25519 private key (PKCS#8 PEM) of servers from before key rotation. When it exists it seeds the
   * signing key ring on first start (devices keep trusting the same key); otherwise the ring starts
   * with a new key and this file is never written. It also names the ring's default place.
   */
  signing_key_file: z.string().min(1),
  /**
   * The signing key ring (active, next, previous and retired keys; private keys of the first three),
   * mode 0600. Default: next to signing_key_file, `<name>.keyring.json`. Change it with
   * `bifrost-edge control keys` or the admin API, never by hand.
   */
  signing_keyring_file: z.string().min(1).optional(),
  storage: z.strictObject({
    sqlite_path: z.string().min(1),
  }),
  push: z.strictObject({
    /** Seconds between heartbeat comments on policy streams. */
    heartbeat_seconds: z.number().min(0.05).default(15),
  }).prefault({}),
});

export type ControlServerConfigInput = z.input<typeof ControlServerConfigSchema>;
export type ControlServerConfig = z.output<typeof ControlServerConfigSchema>;
export type OidcIssuerConfig = z.output<typeof OidcIssuerConfigSchema>;
export type GatewayAdminAuth = z.output<typeof GatewayAdminAuthSchema>;

export class ControlConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlConfigError';
  }
}

/** Validates a config object; errors list every bad field with its path and what to change. */
export function parseControlServerConfig(raw: unknown, origin = 'control server config'): ControlServerConfig {
  const result = ControlServerConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
    throw new ControlConfigError(`${origin} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Reads a JSON config file and resolves its relative paths against the file's folder. */
export function loadControlServerConfigFile(file: string): ControlServerConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ControlConfigError(`cannot read control server config ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path given to --config`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ControlConfigError(`control server config ${file} is not valid JSON (${(err as Error).message})`);
  }
  const config = parseControlServerConfig(raw, `control server config ${file}`);
  const base = path.dirname(path.resolve(file));
  return {
    ...config,
    signing_key_file: path.resolve(base, config.signing_key_file),
    ...(config.signing_keyring_file !== undefined ? { signing_keyring_file: path.resolve(base, config.signing_keyring_file) } : {}),
    storage: { ...config.storage, sqlite_path: path.resolve(base, config.storage.sqlite_path) },
  };
}

/**
 * Where the signing key ring lives: `signing_keyring_file`, else next to `signing_key_file` and
 * named after it (`keys/signing-key.pem` → `keys/signing-key.keyring.json`).
 */
export function keyringFileOf(config: Pick<ControlServerConfig, 'signing_key_file' | 'signing_keyring_file'>): string {
  if (config.signing_keyring_file !== undefined) return config.signing_keyring_file;
  const base = path.basename(config.signing_key_file, path.extname(config.signing_key_file));
  return path.join(path.dirname(config.signing_key_file), `${base}.keyring.json`);
}
