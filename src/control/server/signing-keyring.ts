import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { AdminSigningKey } from '../protocol/admin-signing-keys.js';
import { signingKeyId } from '../protocol/bundle-signature.js';
import type { SigningPublicKey } from '../protocol/enrollment.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';
import { loadSigningKeyFile, type SigningKey } from './signing-key.js';
import { readKeyringFile, writeKeyringFile } from './signing-keyring-file.js';
import {
  announceNextKey, orderedEntries, promoteNextKey, retireKey, trustedEntries, type KeyringEntry, type NewKeyMaterial,
} from './signing-key-rotation.js';

/** One rotation step's outcome: the new entries and a sentence for the log and the admin. */
interface KeyringStep {
  keys: KeyringEntry[];
  summary: string;
  retiredKeyId?: string;
}

/** What the publisher and the enrollment route need from the keys: who signs, and whom devices trust. */
export interface BundleSigningKeys {
  /** The key that signs new bundles. */
  active(): SigningKey;
  /** Every key devices should trust now (active first, then next and previous): announced in bundles and at enrollment. */
  trusted(): SigningPublicKey[];
}

export interface SigningKeyringOptions {
  /** The key ring file (see signing-keyring-file.ts). */
  file: string;
  /**
   * The single-key file of servers that predate rotation (`signing_key_file`). When it exists it
   * seeds the ring on first start (devices enrolled before keep trusting the same key), and it is
   * deleted when that key is retired. A new server starts its ring with a fresh key instead and never
   * writes this file: each private key then exists in exactly one place.
   */
  legacyKeyFile: string;
  log: Logger;
  now?: () => Date;
}

/**
 * The server's bundle-signing keys: one active key that signs, an optional next key announced
 * ahead of a switch, previous keys still trusted until retired. Every change is written to disk
 * before it takes effect here, so a restart keeps the ring; changes go one at a time.
 */
export class SigningKeyring implements BundleSigningKeys {
  private readonly changes = new KeyedSerialQueue();
  private readonly now: () => Date;
  private keys: KeyringEntry[] = [];
  private signer!: SigningKey;

  private constructor(private readonly options: SigningKeyringOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Loads the ring, creating it on first start from the legacy key file when there is one, else with a new key. */
  static async open(options: SigningKeyringOptions): Promise<SigningKeyring> {
    const ring = new SigningKeyring(options);
    const stored = await readKeyringFile(options.file, options.log);
    if (stored) {
      ring.adopt(stored);
      return ring;
    }
    const legacy = await loadSigningKeyFile(options.legacyKeyFile, options.log);
    const seed = legacy ? keyMaterialOf(legacy) : newKeyMaterial();
    const now = ring.now().toISOString();
    const first: KeyringEntry = { ...seed, status: 'active', created_at: now, activated_at: now };
    await writeKeyringFile(options.file, [first], options.log);
    options.log.info(legacy ? 'created the signing key ring from the existing signing key file' : 'created the signing key ring with a new Ed25519 key', { key_ring: options.file, key_id: seed.key_id });
    ring.adopt([first]);
    return ring;
  }

  active(): SigningKey {
    return this.signer;
  }

  trusted(): SigningPublicKey[] {
    return trustedEntries(this.keys).map((k) => ({ key_id: k.key_id, alg: 'Ed25519', public_key_pem: k.public_key_pem }));
  }

  /** Every key with its status and dates, never a private key. */
  list(): AdminSigningKey[] {
    return orderedEntries(this.keys).map((k) => {
      const out: AdminSigningKey = { key_id: k.key_id, alg: 'Ed25519', status: k.status, public_key_pem: k.public_key_pem, created_at: k.created_at };
      if (k.activated_at !== undefined) out.activated_at = k.activated_at;
      if (k.retired_at !== undefined) out.retired_at = k.retired_at;
      return out;
    });
  }

  /** Generates the next key and announces it (devices start trusting it with their next bundle). */
  rotate(): Promise<string> {
    return this.change((keys, now) => {
      const fresh = newKeyMaterial();
      return { keys: announceNextKey(keys, fresh, now), summary: `announced key ${fresh.key_id} as the next signing key` };
    });
  }

  /** The next key signs from now on; the one it replaces stays trusted until retired. */
  promote(): Promise<string> {
    return this.change((keys, now) => {
      const promoted = promoteNextKey(keys, now);
      const active = promoted.find((k) => k.status === 'active')!;
      return { keys: promoted, summary: `key ${active.key_id} signs bundles from now on` };
    });
  }

  /** Stops announcing a key (default: the previous one) and deletes its private key. */
  retire(keyId?: string): Promise<string> {
    return this.change((keys, now) => {
      const { keys: after, retired } = retireKey(keys, keyId, now);
      return { keys: after, summary: `retired key ${retired.key_id}; devices stop trusting it with their next bundle`, retiredKeyId: retired.key_id };
    });
  }

  /**
   * Read-modify-write on the file (not on memory), so an edit made with `keys --offline` while this
   * server was stopped is never overwritten; memory follows only once the file is written.
   */
  private change(step: (keys: KeyringEntry[], now: string) => KeyringStep): Promise<string> {
    return this.changes.run('keyring', async () => {
      const current = (await readKeyringFile(this.options.file, this.options.log)) ?? this.keys;
      const result = step(current, this.now().toISOString());
      await writeKeyringFile(this.options.file, result.keys, this.options.log);
      this.adopt(result.keys);
      this.options.log.info(`signing key ring: ${result.summary}`, { key_ring: this.options.file });
      if (result.retiredKeyId !== undefined) await this.deleteLegacyCopy(result.retiredKeyId);
      return result.summary;
    });
  }

  private adopt(keys: KeyringEntry[]): void {
    const active = keys.find((k) => k.status === 'active')!;
    const privateKey = createPrivateKey(active.private_key_pem!);
    const publicKey = createPublicKey(privateKey);
    this.keys = keys;
    this.signer = { privateKey, publicKey, keyId: signingKeyId(publicKey) };
  }

  /** The legacy single-key file still holds a retired key's private key: delete it, or say so. */
  private async deleteLegacyCopy(retiredKeyId: string): Promise<void> {
    const file = this.options.legacyKeyFile;
    let holds = false;
    try {
      holds = signingKeyId(createPublicKey(createPrivateKey(await fs.readFile(file, 'utf8')))) === retiredKeyId;
    } catch {
      return;
    }
    if (!holds) return;
    try {
      await fs.rm(file);
      this.options.log.info('deleted the signing key file of a retired key', { file, key_id: retiredKeyId });
    } catch (err) {
      this.options.log.warn(`the signing key file ${file} still holds the private key of retired key ${retiredKeyId}, and deleting it failed (${(err as Error).message}); delete it by hand`);
    }
  }
}

function newKeyMaterial(): NewKeyMaterial {
  return keyMaterialOf(generateKeyPairSync('ed25519'));
}

function keyMaterialOf(key: { privateKey: KeyObject; publicKey: KeyObject }): NewKeyMaterial {
  return {
    key_id: signingKeyId(key.publicKey),
    public_key_pem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    private_key_pem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

