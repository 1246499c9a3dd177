import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDirectory, writeFileAtomically } from '../ca/private-files.js';
import type { EncryptionKeySource } from './encryption-keys.js';
import { fileExists } from '../util/file-exists.js';
import { savedFileVersion } from './saved-file-version.js';
import type { SessionTokens } from './session-tokens.js';
import {
  parseStoredSession,
  readSavedSignInFile,
  RESET_SAVED_SIGN_IN,
  serializeSession,
  TokenStoreError,
  type TokenStore,
  type TokenStoreBackend,
  type TokenStoreDescription,
} from './token-store.js';

const FORMAT = 'bifrost-edge-session';
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The file on disk: everything but the key, which lives in an EncryptionKeySource. */
const EnvelopeSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  cipher: z.literal('aes-256-gcm'),
  keySource: z.enum(['key-file', 'macos-keychain', 'secret-service']),
  iv: z.base64(),
  tag: z.base64(),
  data: z.base64(),
});
type Envelope = z.output<typeof EnvelopeSchema>;

export const KEY_FILE_WARNING =
  'Your sign-in tokens are stored in an encrypted file whose key is in another file in the same folder. This protects against casual disclosure (a copied file, a backup, a screenshot of a folder) but not against another program running as your user account, which can read both. Use the Bifrost Edge app, or install an OS keyring (GNOME Keyring / KWallet with secret-tool) for stronger protection.';

export interface EncryptedFileTokenStoreOptions {
  file: string;
  keySource: EncryptionKeySource;
  /** Defaults to the key source's weakness: a key file gets KEY_FILE_WARNING. */
  warning?: string;
  notes?: string[];
}

/**
 * AES-256-GCM encrypted session file (0600, written atomically). GCM's tag authenticates the
 * ciphertext and its header, so any modification is detected on load instead of yielding tokens.
 */
export class EncryptedFileTokenStore implements TokenStore {
  private readonly file: string;
  private readonly keySource: EncryptionKeySource;
  private readonly description: TokenStoreDescription;

  constructor(options: EncryptedFileTokenStoreOptions) {
    this.file = options.file;
    this.keySource = options.keySource;
    const backend: TokenStoreBackend = options.keySource.kind === 'key-file' ? 'encrypted-file' : options.keySource.kind;
    const warning = options.warning ?? (options.keySource.kind === 'key-file' ? KEY_FILE_WARNING : undefined);
    this.description = {
      backend,
      location: `${this.file} (key: ${this.keySource.location})`,
      ...(warning ? { warning } : {}),
      ...(options.notes && options.notes.length > 0 ? { notes: options.notes } : {}),
    };
  }

  describe(): TokenStoreDescription {
    return this.description;
  }

  hasSaved(): Promise<boolean> {
    return fileExists(this.file);
  }

  savedVersion(): Promise<string | undefined> {
    return savedFileVersion(this.file);
  }

  async load(): Promise<SessionTokens | undefined> {
    const text = await readSavedSignInFile(this.file);
    if (text === undefined) return undefined;
    const envelope = parseEnvelope(text, this.file);
    if (envelope.keySource !== this.keySource.kind) {
      throw new TokenStoreError('corrupt', `The saved sign-in ${this.file} was encrypted with a key from ${envelope.keySource}, but this store uses ${this.keySource.kind}. ${RESET_SAVED_SIGN_IN}`);
    }
    const key = await this.keySource.getKey(false);
    if (!key) {
      throw new TokenStoreError('corrupt', `The saved sign-in ${this.file} can't be decrypted: its key (${this.keySource.location}) is missing. ${RESET_SAVED_SIGN_IN}`);
    }
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'), { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(envelope));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new TokenStoreError('corrupt', `The saved sign-in ${this.file} failed its integrity check: it was modified, or its key (${this.keySource.location}) was replaced. The tokens in it were not used. ${RESET_SAVED_SIGN_IN}`, { cause: error });
    }
    return parseStoredSession(plain, this.file);
  }

  async save(tokens: SessionTokens): Promise<void> {
    await ensurePrivateDirectory(path.dirname(this.file));
    const key = await this.keySource.getKey(true);
    if (!key) throw new TokenStoreError('unavailable', `No encryption key could be created in ${this.keySource.location}.`);
    const header = { format: FORMAT, version: VERSION, cipher: 'aes-256-gcm', keySource: this.keySource.kind } as const;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(header));
    const data = Buffer.concat([cipher.update(serializeSession(tokens), 'utf8'), cipher.final()]);
    const envelope: Envelope = { ...header, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    try {
      await writeFileAtomically(this.file, `${JSON.stringify(envelope)}\n`, 0o600);
    } catch (error) {
      throw new TokenStoreError('io', `Could not save the sign-in to ${this.file}: ${(error as Error).message}. Check that the data directory is writable.`, { cause: error });
    }
  }

  async clear(): Promise<void> {
    await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw new TokenStoreError('io', `Could not delete the saved sign-in ${this.file}: ${error.message}. Delete it by hand.`, { cause: error });
    });
    await this.keySource.deleteKey();
  }
}

/** The header is authenticated too, so it can't be edited to point at another key source or version. */
function additionalData(header: Pick<Envelope, 'format' | 'version' | 'cipher' | 'keySource'>): Buffer {
  return Buffer.from(`${header.format}/${header.version}/${header.cipher}/${header.keySource}`, 'utf8');
}

function parseEnvelope(text: string, file: string): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenStoreError('corrupt', `The saved sign-in ${file} is damaged (not valid JSON). ${RESET_SAVED_SIGN_IN}`, { cause: error });
  }
  const result = EnvelopeSchema.safeParse(json);
  if (!result.success) {
    throw new TokenStoreError('corrupt', `The saved sign-in ${file} is damaged or from an unknown version of Bifrost Edge. ${RESET_SAVED_SIGN_IN}`, { cause: result.error });
  }
  const ivLength = Buffer.from(result.data.iv, 'base64').length;
  const tagLength = Buffer.from(result.data.tag, 'base64').length;
  if (ivLength !== IV_BYTES || tagLength !== TAG_BYTES) {
    throw new TokenStoreError('corrupt', `The saved sign-in ${file} is damaged (bad IV or tag length). ${RESET_SAVED_SIGN_IN}`);
  }
  return result.data;
}
