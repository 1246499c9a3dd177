import { createPrivateKey, createPublicKey } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDirectory, tightenMode, writeFileAtomically } from '../../ca/private-files.js';
import type { Logger } from '../../log.js';
import { SigningKeyStatusSchema } from '../protocol/admin-signing-keys.js';
import { signingKeyId } from '../protocol/bundle-signature.js';
import { keyringStructureProblem, type KeyringEntry } from './signing-key-rotation.js';

/**
 * The key ring on disk: one JSON file, owner-only (0600 in a 0700 folder), replaced atomically so a
 * crash mid-rotation leaves the previous ring. It holds the private keys of every key that is not
 * retired — whoever reads it can issue policy to every device, exactly like the old single key file.
 */
const FORMAT = 'bifrost-edge.signing-keyring/v1';

const timestamp = z.string().datetime({ offset: true });

const KeyringEntrySchema = z.strictObject({
  key_id: z.string().min(1),
  status: SigningKeyStatusSchema,
  public_key_pem: z.string().min(1),
  private_key_pem: z.string().min(1).optional(),
  created_at: timestamp,
  activated_at: timestamp.optional(),
  retired_at: timestamp.optional(),
});

const KeyringFileSchema = z.strictObject({
  format: z.literal(FORMAT),
  keys: z.array(KeyringEntrySchema).min(1),
});

/** The ring's entries, or undefined when the file does not exist yet; throws with what to do when it is unusable. */
export async function readKeyringFile(file: string, log: Logger): Promise<KeyringEntry[] | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the signing key ring ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check its path and permissions`);
  }
  const note = await tightenMode(file, 0o600);
  if (note) log.warn(`signing key ring permissions tightened: ${note}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`the signing key ring ${file} is not valid JSON; restore it from a backup (devices only trust the keys it holds)`);
  }
  const parsed = KeyringFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`the signing key ring ${file} is malformed (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unexpected shape'}); restore it from a backup`);
  }
  const keys = parsed.data.keys.map(dropUndefined);
  const problem = keyringStructureProblem(keys) ?? keys.map(keyMaterialProblem).find((p) => p !== undefined);
  if (problem) throw new Error(`the signing key ring ${file} is inconsistent: ${problem}; restore it from a backup`);
  return keys;
}

export async function writeKeyringFile(file: string, keys: readonly KeyringEntry[], log: Logger): Promise<void> {
  const problem = keyringStructureProblem(keys);
  // A programming error, never a user's: refuse to write a ring the server could not start with.
  if (problem) throw new Error(`refusing to write an inconsistent signing key ring: ${problem}`);
  const note = await ensurePrivateDirectory(path.dirname(file));
  if (note) log.warn(note);
  await writeFileAtomically(file, `${JSON.stringify({ format: FORMAT, keys }, null, 2)}\n`, 0o600);
}

/** An id must be the fingerprint of its public key, and a private key must belong to it. */
function keyMaterialProblem(entry: KeyringEntry): string | undefined {
  try {
    const publicKey = createPublicKey(entry.public_key_pem);
    if (publicKey.asymmetricKeyType !== 'ed25519') return `key ${entry.key_id} is not Ed25519`;
    if (signingKeyId(publicKey) !== entry.key_id) return `key ${entry.key_id}'s id is not the fingerprint of its public key`;
    if (entry.private_key_pem !== undefined && signingKeyId(createPublicKey(createPrivateKey(entry.private_key_pem))) !== entry.key_id) {
      return `key ${entry.key_id}'s private key belongs to another public key`;
    }
  } catch (err) {
    return `key ${entry.key_id} cannot be read (${(err as Error).message})`;
  }
  return undefined;
}

function dropUndefined(entry: z.output<typeof KeyringEntrySchema>): KeyringEntry {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as unknown as KeyringEntry;
}
