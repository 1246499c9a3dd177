import path from 'node:path';
import { z } from 'zod';
import { SigningPublicKeySchema } from '../protocol/enrollment.js';
import { readJsonFile, removeFile, writePrivateJson } from './private-json-file.js';

/** File names inside the sync client's state folder. */
export const ENROLLMENT_FILE = 'enrollment.json';
export const POLICY_CACHE_FILE = 'policy-bundle.json';

/** What enrollment left on the device: who it is to the control server, and which keys it trusts. */
export const EnrollmentStateSchema = z.strictObject({
  control_url: z.string().min(1),
  device_id: z.string().min(1),
  device_credential: z.string().min(1),
  subject: z.strictObject({ sub: z.string(), email: z.string().optional(), name: z.string().optional(), groups: z.array(z.string()).default([]) }),
  signing_keys: z.array(SigningPublicKeySchema),
  poll_interval_seconds: z.number().int().positive(),
  enrolled_at: z.string(),
});
export type EnrollmentState = z.output<typeof EnrollmentStateSchema>;

/**
 * The last good policy. Signed bundles are kept exactly as received and verified again when loaded
 * (a file edited on disk is refused like a tampered download); quota bundles carry no signature.
 */
export const CachedPolicySchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('edge-control'), control_url: z.string(), saved_at: z.string(), signed: z.unknown() }),
  z.strictObject({ source: z.literal('bifrost-quota'), gateway_url: z.string(), saved_at: z.string(), bundle: z.unknown() }),
]);
export type CachedPolicy = z.output<typeof CachedPolicySchema>;

export async function loadEnrollmentState(stateDir: string): Promise<EnrollmentState | undefined> {
  const raw = await readJsonFile(path.join(stateDir, ENROLLMENT_FILE));
  if (raw === undefined) return undefined;
  const parsed = EnrollmentStateSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path.join(stateDir, ENROLLMENT_FILE)} is not a valid enrollment record; delete it to enroll again`);
  return parsed.data;
}

export function saveEnrollmentState(stateDir: string, state: EnrollmentState): Promise<void> {
  return writePrivateJson(path.join(stateDir, ENROLLMENT_FILE), state);
}

export function clearEnrollmentState(stateDir: string): Promise<void> {
  return removeFile(path.join(stateDir, ENROLLMENT_FILE));
}

export async function loadCachedPolicy(stateDir: string): Promise<CachedPolicy | undefined> {
  const raw = await readJsonFile(path.join(stateDir, POLICY_CACHE_FILE));
  if (raw === undefined) return undefined;
  const parsed = CachedPolicySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path.join(stateDir, POLICY_CACHE_FILE)} is not a cached policy`);
  return parsed.data;
}

export function saveCachedPolicy(stateDir: string, cached: CachedPolicy): Promise<void> {
  return writePrivateJson(path.join(stateDir, POLICY_CACHE_FILE), cached);
}
