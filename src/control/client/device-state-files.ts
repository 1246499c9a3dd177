import path from 'node:path';
import { z } from 'zod';
import { SigningPublicKeySchema } from '../protocol/enrollment.js';
import { readJsonFile, removeFile, writePrivateJson } from './private-json-file.js';

/** File names inside the sync client's state folder. */
export const ENROLLMENT_FILE = 'enrollment.json';
export const POLICY_CACHE_FILE = 'policy-bundle.json';

/**
 * What enrollment left on the device: who it is to the control server, and which keys it trusts
 * (updated when a signed bundle announces a rotation). Not the device credential: that secret lives
 * in a DeviceCredentialStore (device-credential-store.ts), so this file can be read, copied into a
 * support bundle or backed up without giving anyone the device's identity.
 */
export const EnrollmentStateSchema = z.strictObject({
  control_url: z.string().min(1),
  device_id: z.string().min(1),
  /**
   * Only in files written by agents that kept the credential here in plain text: read once to move it
   * into the credential store, then the file is rewritten without it. Never written.
   */
  device_credential: z.string().min(1).optional(),
  subject: z.strictObject({ sub: z.string(), email: z.string().optional(), name: z.string().optional(), groups: z.array(z.string()).default([]) }),
  signing_keys: z.array(SigningPublicKeySchema),
  poll_interval_seconds: z.number().int().positive(),
  enrolled_at: z.string(),
});

/** The enrollment record as written: everything but the credential. */
export type EnrollmentRecord = Omit<z.output<typeof EnrollmentStateSchema>, 'device_credential'>;

export interface LoadedEnrollment {
  record: EnrollmentRecord;
  /** A credential found in plain text in the file (written by an older agent), to migrate. */
  legacyCredential?: string;
}

/**
 * The last good policy. Signed bundles are kept exactly as received and verified again when loaded
 * (a file edited on disk is refused like a tampered download); quota bundles carry no signature.
 */
export const CachedPolicySchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('edge-control'), control_url: z.string(), saved_at: z.string(), signed: z.unknown() }),
  z.strictObject({ source: z.literal('bifrost-quota'), gateway_url: z.string(), saved_at: z.string(), bundle: z.unknown() }),
]);
export type CachedPolicy = z.output<typeof CachedPolicySchema>;

export async function loadEnrollmentState(stateDir: string): Promise<LoadedEnrollment | undefined> {
  const raw = await readJsonFile(path.join(stateDir, ENROLLMENT_FILE));
  if (raw === undefined) return undefined;
  const parsed = EnrollmentStateSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path.join(stateDir, ENROLLMENT_FILE)} is not a valid enrollment record; delete it to enroll again`);
  const { device_credential: legacyCredential, ...record } = parsed.data;
  return legacyCredential === undefined ? { record } : { record, legacyCredential };
}

/** Writes the record; a credential that reached this function by mistake is dropped, never written. */
export function saveEnrollmentState(stateDir: string, record: EnrollmentRecord): Promise<void> {
  const { device_credential: _never, ...withoutCredential } = record as EnrollmentRecord & { device_credential?: string };
  return writePrivateJson(path.join(stateDir, ENROLLMENT_FILE), withoutCredential);
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

export function clearCachedPolicy(stateDir: string): Promise<void> {
  return removeFile(path.join(stateDir, POLICY_CACHE_FILE));
}

export function saveCachedPolicy(stateDir: string, cached: CachedPolicy): Promise<void> {
  return writePrivateJson(path.join(stateDir, POLICY_CACHE_FILE), cached);
}
