import { z } from 'zod';

/** What the device says about itself when it enrolls; shown to admins, never trusted for decisions. */
export const DeviceDescriptionSchema = z.strictObject({
  hostname: z.string().min(1).max(255),
  os: z.string().max(100).optional(),
  agent_version: z.string().max(100).optional(),
  /**
   * The agent's own id for this installation, made before any enrollment. Audit records carry it
   * (records written before the device enrolled, or across re-enrollments, still belong to it).
   */
  installation_id: z.string().min(1).max(100).optional(),
});

/**
 * The bundle version a re-enrolling device already enforces. Devices never go back to a lower
 * version, so the server issues the new enrollment's first bundle above it (versions are per device,
 * and a new enrollment, or a server whose database was replaced, would otherwise start again at 1).
 * The server refuses a version far above any it issued (see server/enrollment-version-floor.ts).
 */
const EnforcedPolicyVersionSchema = z.number().int().positive().optional();

/**
 * POST /api/edge/v1/enroll. The device proves who it is with either an OIDC token from the
 * organisation's identity provider (ID token or JWT access token, verified against the issuer's JWKS)
 * or, when the control server allows it, a Bifrost virtual key the gateway knows.
 */
export const EnrollmentRequestSchema = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('oidc'),
    /** A signed JWT (ID token or access token) issued for the control server's audience. */
    token: z.string().min(1),
    /**
     * The access token of the same sign-in, when `token` is an ID token: the server reads the userinfo
     * endpoint with it for the email and groups the ID token leaves out. Never stored.
     */
    access_token: z.string().min(1).optional(),
    device: DeviceDescriptionSchema,
    policy_version: EnforcedPolicyVersionSchema,
  }),
  z.strictObject({
    method: z.literal('virtual_key'),
    virtual_key: z.string().startsWith('sk-bf-', { message: 'must be a Bifrost virtual key starting with sk-bf-' }),
    device: DeviceDescriptionSchema,
    policy_version: EnforcedPolicyVersionSchema,
  }),
]);

/** The ways a device can prove who it is at POST /api/edge/v1/enroll (the request's `method`). */
export const EnrollmentMethodSchema = z.enum(['oidc', 'virtual_key']);

/**
 * GET /api/edge/v1/enroll/methods (no auth): the enrollment methods this server accepts, so a device
 * offers a person only the sign-ins that can work. `oidc` when identity providers are configured,
 * `virtual_key` when the admin allows enrolling with a virtual key; empty when neither.
 */
export const EnrollmentMethodsResponseSchema = z.strictObject({
  methods: z.array(EnrollmentMethodSchema),
});

/** A public key the control plane signs bundles with. `key_id` is the key's fingerprint (see bundle-signature.ts). */
export const SigningPublicKeySchema = z.strictObject({
  key_id: z.string().min(1),
  alg: z.literal('Ed25519'),
  /** SPKI PEM. */
  public_key_pem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
});

export const EnrollmentResponseSchema = z.strictObject({
  device_id: z.string().min(1),
  /**
   * Opaque bearer secret for every later call from this device. Shown once: the server keeps only a
   * hash, so a lost credential means enrolling again.
   */
  device_credential: z.string().min(20),
  /** Who the device was enrolled for (the token's subject, or `virtual-key:<id>`). */
  subject: z.strictObject({
    sub: z.string().min(1),
    email: z.string().optional(),
    name: z.string().optional(),
    groups: z.array(z.string()).default([]),
  }),
  /**
   * Keys whose signatures the device should trust. A device configured with pinned keys ignores
   * these; one without pins trusts them from this (authenticated, TLS-protected) exchange on.
   */
  signing_keys: z.array(SigningPublicKeySchema).min(1),
  /** How often to poll when the push stream is down; the bundle's own `sync` setting wins once fetched. */
  poll_interval_seconds: z.number().int().min(5),
});

export type DeviceDescription = z.output<typeof DeviceDescriptionSchema>;
export type EnrollmentRequest = z.output<typeof EnrollmentRequestSchema>;
export type EnrollmentRequestInput = z.input<typeof EnrollmentRequestSchema>;
export type SigningPublicKey = z.output<typeof SigningPublicKeySchema>;
export type EnrollmentResponse = z.output<typeof EnrollmentResponseSchema>;
export type EnrollmentMethod = z.output<typeof EnrollmentMethodSchema>;
export type EnrollmentMethodsResponse = z.output<typeof EnrollmentMethodsResponseSchema>;
