import { z } from 'zod';
import { DurationPricingSchema } from './duration-pricing.js';
import { SigningPublicKeySchema } from './enrollment.js';
import { VirtualKeySchema } from './virtual-key.js';
import { compileHostPattern } from '../../providers/host-pattern.js';
import { secureServiceUrl } from '../../util/config-fields.js';

/**
 * A host pattern of the intercept list (`api.openai.com`, `*.githubcopilot.com`). Refused when it does not
 * compile: the list decides what is decrypted, so a typo must fail at the admin's PUT (and a device must
 * refuse such a bundle), not silently widen or narrow interception.
 */
const InterceptHostPatternSchema = z.string().superRefine((pattern, ctx) => {
  try {
    compileHostPattern(pattern);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Where an app's AI traffic goes: Bifrost integration routes, Bifrost pass-through, or straight to the provider. */
export const RoutingModeSchema = z.enum(['gateway', 'passthrough', 'local']);

export const AppStatusSchema = z.enum(['approved', 'denied', 'pending']);

/** One known AI app and how to recognise it (any matcher that matches identifies the app). */
export const AppCatalogEntrySchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  status: AppStatusSchema,
  match: z.strictObject({
    /** Host patterns as in the intercept list (`chatgpt.com`, `api.*.githubcopilot.com`). */
    hosts: z.array(z.string()).default([]),
    /** Case-insensitive regular expressions over the User-Agent header. */
    user_agents: z.array(z.string()).default([]),
    /** Executable names, where the OS lets Edge see which process opened the connection. */
    processes: z.array(z.string()).default([]),
  }),
  /** Overrides the bundle's default routing for this app. */
  routing: RoutingModeSchema.optional(),
});

/**
 * The dearest token price a bundle may set, USD per million tokens. The dearest list price is o1-pro's output at 600,
 * so 10,000 leaves room for dearer models while keeping a cost finite: an unbounded price (1e308) made a response cost
 * Infinity, which no budget or record can hold. A price above it is a unit mistake, refused where the admin sets it.
 */
export const MAX_USD_PER_MTOK = 10_000;

const tokenPrice = (field: string) => z.number()
  .nonnegative({ error: `${field} cannot be negative: US dollars per million tokens, 0 for a free model` })
  .max(MAX_USD_PER_MTOK, { error: `${field} cannot be above ${MAX_USD_PER_MTOK}: it is US dollars per million tokens (gpt-4o lists 2.5 in, 10 out); check the unit` });

/** Price of a model in USD per million tokens, for the device's local spend estimate. */
export const ModelPriceSchema = z.strictObject({
  input_per_mtok: tokenPrice('input_per_mtok'),
  output_per_mtok: tokenPrice('output_per_mtok'),
});

/**
 * Everything a device enforces, in one versioned document. The control plane signs it; the device
 * refuses a bundle that is unsigned, tampered with, older than the one it has, or malformed.
 */
export const PolicyBundleSchema = z.strictObject({
  schema: z.literal('bifrost-edge.policy/v1'),
  /** Only ever goes up. A device never applies a version lower than (or equal to, with other content) its own. */
  version: z.number().int().positive(),
  issued_at: z.string().datetime({ offset: true }),
  /** The user the bundle was issued for; attached to audit records and attribution headers. */
  subject: z.strictObject({
    sub: z.string().min(1),
    email: z.string().optional(),
    name: z.string().optional(),
    groups: z.array(z.string()).default([]),
  }).optional(),
  /**
   * The enrolled device this bundle was issued for. A device refuses a bundle that names another
   * device: a validly signed bundle copied from a second enrollment (perhaps one made with a higher
   * version floor) must not replace, or outrank, this device's own. The server puts it only in bundles
   * for devices that asked (BUNDLE_BINDING_HEADER), since agents that predate it refuse unknown fields.
   */
  device_id: z.string().min(1).optional(),
  /** The user's virtual keys with their Bifrost policy. */
  virtual_keys: z.array(VirtualKeySchema).default([]),
  /** Which key the device sends in `x-bf-vk` (by id); default: the first active one. */
  active_virtual_key_id: z.string().optional(),
  gateway: z.strictObject({
    /** Where the device sends AI traffic with the virtual key: never over plain http beyond this machine. */
    url: secureServiceUrl('the virtual key and every AI request').describe('https:// URL of the Bifrost gateway (plain http:// only for 127.0.0.1/localhost)'),
  }).optional(),
  routing: z.strictObject({
    default_mode: RoutingModeSchema.default('gateway'),
  }).prefault({}),
  /** Host patterns decrypted on the device (replaces the built-in list). */
  intercept_hosts: z.array(InterceptHostPatternSchema).optional(),
  apps: z.strictObject({
    catalog: z.array(AppCatalogEntrySchema).default([]),
    /** What `pending` (seen, not yet reviewed) means on the device. */
    pending_action: z.enum(['allow', 'block']).default('allow'),
    /** Apps matching no catalog entry are treated as pending. */
  }).prefault({}),
  /** When the gateway or control plane is unreachable: keep forwarding (open) or refuse AI traffic (closed). */
  fail_mode: z.enum(['open', 'closed']).default('open'),
  /** Guardrail settings; validated by src/guardrails/policy.ts when applied. */
  guardrails: z.unknown().optional(),
  content_retention: z.strictObject({
    /** none: metadata only; digest: SHA-256 of the prompt; full: the prompt text (up to max_chars). */
    mode: z.enum(['none', 'digest', 'full']).default('digest'),
    max_chars: z.number().int().positive().default(20_000),
  }).prefault({}),
  /** Model → price, for local budget estimates; keys are `provider/model` or bare model names. */
  pricing: z.record(z.string(), ModelPriceSchema).default({}),
  /**
   * Model → USD a minute, for the models billed by the length of their audio (whisper-1): duration-pricing.ts. Sent
   * only when an admin set one: agents that predate it refuse a bundle carrying the field.
   */
  duration_pricing: DurationPricingSchema.optional(),
  /** Fractions of a budget at which the user is warned, e.g. [0.8, 0.95]. */
  budget_alert_thresholds: z.array(z.number().gt(0).lte(1)).default([0.8, 0.95]),
  sync: z.strictObject({
    /** Fallback polling interval when the push stream is down. */
    poll_interval_seconds: z.number().int().min(5).default(60),
  }).prefault({}),
  /**
   * The bundle-signing keys the device should trust from now on: the active key, a newly announced
   * next key, and the previous key until it is retired. It sits inside the signed bundle, so a new
   * key arrives under the authority of a key the device already trusts; the device replaces its
   * trusted set with this one (unless it has pinned keys) and refuses a set that leaves out the key
   * that signed the bundle. Absent from servers that predate key rotation: the trust set stays as is.
   */
  signing_keys: z.array(SigningPublicKeySchema).min(1).optional(),
});

export const BundleSignatureSchema = z.strictObject({
  alg: z.literal('Ed25519'),
  /** Which control-plane signing key made the signature (lets keys rotate). */
  key_id: z.string().min(1),
  /** Base64 Ed25519 signature over canonicalJson(bundle). */
  value: z.string().min(1),
});

/** What the control plane serves at GET /api/edge/v1/policy (with an ETag). */
export const SignedPolicyBundleSchema = z.strictObject({
  bundle: PolicyBundleSchema,
  signature: BundleSignatureSchema,
});

export type RoutingMode = z.output<typeof RoutingModeSchema>;
export type AppStatus = z.output<typeof AppStatusSchema>;
export type AppCatalogEntry = z.output<typeof AppCatalogEntrySchema>;
export type ModelPrice = z.output<typeof ModelPriceSchema>;
export type PolicyBundle = z.output<typeof PolicyBundleSchema>;
export type PolicyBundleInput = z.input<typeof PolicyBundleSchema>;
export type SignedPolicyBundle = z.output<typeof SignedPolicyBundleSchema>;
