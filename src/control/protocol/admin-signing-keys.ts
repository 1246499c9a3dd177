import { z } from 'zod';

/**
 * Where a bundle-signing key is in its life:
 * - `next`: generated and announced in every signed bundle, so devices start trusting it; signs nothing yet;
 * - `active`: signs every new bundle (exactly one key is active);
 * - `previous`: the key that was active before the last promotion; still trusted, signs nothing;
 * - `retired`: no longer announced, so devices stop trusting it; its private key has been deleted.
 */
export const SigningKeyStatusSchema = z.enum(['next', 'active', 'previous', 'retired']);

/** One key of the server's key ring as admins see it (never the private key). */
export const AdminSigningKeySchema = z.strictObject({
  key_id: z.string(),
  alg: z.literal('Ed25519'),
  status: SigningKeyStatusSchema,
  public_key_pem: z.string(),
  created_at: z.string().datetime({ offset: true }),
  activated_at: z.string().datetime({ offset: true }).optional(),
  retired_at: z.string().datetime({ offset: true }).optional(),
});

/** GET /api/edge/v1/admin/signing-keys, and the answer to rotate / promote / retire. */
export const AdminSigningKeysResponseSchema = z.strictObject({
  /** Active first, then next, previous and retired ones. */
  keys: z.array(AdminSigningKeySchema),
  devices: z.strictObject({
    /**
     * Enrolled devices, leaving out rows an installation left behind when it enrolled again (and has
     * not used since): see server/superseded-devices.ts.
     */
    total: z.number().int().nonnegative(),
    /**
     * Devices that reported (in a heartbeat) enforcing their latest bundle, and whose latest bundle
     * announces exactly the keys trusted now: they have the current key set. Promote or retire when
     * this reaches `total`; a device left behind re-enrolls to get the new key.
     */
    up_to_date: z.number().int().nonnegative(),
  }),
  /** rotate / promote / retire only: devices that got a new bundle version because of this change. */
  republished_devices: z.number().int().nonnegative().optional(),
});

/** POST /api/edge/v1/admin/signing-keys/retire. */
export const AdminRetireSigningKeyRequestSchema = z.strictObject({
  /** The key to retire; default: the previous key (the one active before the last promotion). */
  key_id: z.string().min(1).optional(),
});

export type SigningKeyStatus = z.output<typeof SigningKeyStatusSchema>;
export type AdminSigningKey = z.output<typeof AdminSigningKeySchema>;
export type AdminSigningKeysResponse = z.output<typeof AdminSigningKeysResponseSchema>;
export type AdminRetireSigningKeyRequest = z.output<typeof AdminRetireSigningKeyRequestSchema>;
