import { randomBytes } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirectory, tightenMode } from '../ca/private-files.js';
import type { CommandRunner } from './run-command.js';
import { RESET_SAVED_SIGN_IN, TokenStoreError } from './token-store.js';

export const KEY_BYTES = 32;

/**
 * Holds the AES-256 key that encrypts the saved session file. The key and the ciphertext live apart,
 * so a copied data directory (backup, sync folder, support bundle) alone reveals nothing — unless the
 * key sits next to it in a file, which is why that source comes with a warning.
 */
export interface EncryptionKeySource {
  readonly kind: 'key-file' | 'macos-keychain' | 'secret-service';
  /** Human-readable location, for describe() and error messages. */
  readonly location: string;
  /** The key; a new one is made when none exists and `create` is set, otherwise undefined. */
  getKey(create: boolean): Promise<Buffer | undefined>;
  deleteKey(): Promise<void>;
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new TokenStoreError('corrupt', `The sign-in encryption key in ${where} is damaged (expected ${KEY_BYTES} bytes, found ${key.length}). ${RESET_SAVED_SIGN_IN}`);
  }
  return key;
}

/** The fallback: a 0600 file in the data directory. Protects against casual disclosure only. */
export class KeyFileSource implements EncryptionKeySource {
  readonly kind = 'key-file' as const;

  constructor(private readonly file: string) {}

  get location(): string {
    return this.file;
  }

  async getKey(create: boolean): Promise<Buffer | undefined> {
    const existing = await this.read();
    if (existing || !create) return existing;
    await ensurePrivateDirectory(path.dirname(this.file));
    const key = randomBytes(KEY_BYTES);
    try {
      // O_EXCL: if another process created the key meanwhile, use theirs rather than overwrite it.
      const handle = await open(this.file, 'wx', 0o600);
      try {
        await handle.writeFile(`${key.toString('base64')}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return this.read();
      throw new TokenStoreError('io', `Could not create the sign-in key file ${this.file}: ${(error as Error).message}. Check that the data directory is writable.`, { cause: error });
    }
  }

  async deleteKey(): Promise<void> {
    await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw new TokenStoreError('io', `Could not delete the sign-in key file ${this.file}: ${error.message}.`, { cause: error });
    });
  }

  private async read(): Promise<Buffer | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new TokenStoreError('io', `Could not read the sign-in key file ${this.file}: ${(error as Error).message}.`, { cause: error });
    }
    await tightenMode(this.file, 0o600);
    return decodeKey(text, this.file);
  }
}

const KEYCHAIN_LABEL = 'Bifrost Edge sign-in key';

/** Status `security` uses for "item not found". */
const SECURITY_ITEM_NOT_FOUND = 44;

/**
 * macOS login keychain through /usr/bin/security (headless CLI; the Electron app uses safeStorage).
 * The key is written through `security -i` on stdin so it never appears in the process list.
 */
export class MacKeychainKeySource implements EncryptionKeySource {
  readonly kind = 'macos-keychain' as const;

  constructor(
    private readonly run: CommandRunner,
    private readonly service: string,
    private readonly account: string,
  ) {}

  get location(): string {
    return `login keychain item "${this.service}" (account ${this.account})`;
  }

  /** Whether the keychain answers at all (it doesn't in some SSH sessions or when locked without a GUI). */
  async probe(): Promise<string | undefined> {
    const result = await this.run('security', ['find-generic-password', '-s', this.service, '-a', this.account], { timeoutMs: 10_000 });
    if (result.missing) return 'the macOS `security` tool was not found';
    if (result.code === 0 || result.code === SECURITY_ITEM_NOT_FOUND) return undefined;
    return `the macOS keychain did not answer (${describeFailure(result)})`;
  }

  async getKey(create: boolean): Promise<Buffer | undefined> {
    const found = await this.run('security', ['find-generic-password', '-s', this.service, '-a', this.account, '-w'], { timeoutMs: 60_000 });
    if (found.code === 0) return decodeKey(found.stdout, this.location);
    if (found.code !== SECURITY_ITEM_NOT_FOUND) throw unavailable(this.location, found);
    if (!create) return undefined;
    const key = randomBytes(KEY_BYTES);
    const encoded = key.toString('base64');
    // The values are base64 and our own names, so double quotes are enough for security's parser.
    const command = `add-generic-password -U -s "${this.service}" -a "${this.account}" -l "${KEYCHAIN_LABEL}" -w "${encoded}"\n`;
    await this.run('security', ['-i'], { input: command, timeoutMs: 60_000 });
    // `security -i` may exit 0 even when its command failed: read the key back to be sure.
    if (await this.holds(key)) return key;
    // Some `security` builds don't take commands from a pipe. Then pass the key as an argument: it
    // shows in the process list for a moment, but it is useless without the 0600 session file.
    const added = await this.run('security', ['add-generic-password', '-U', '-s', this.service, '-a', this.account, '-l', KEYCHAIN_LABEL, '-w', encoded], { timeoutMs: 60_000 });
    if (await this.holds(key)) return key;
    throw unavailable(this.location, added);
  }

  private async holds(key: Buffer): Promise<boolean> {
    const stored = await this.getKey(false).catch(() => undefined);
    return stored !== undefined && stored.equals(key);
  }

  async deleteKey(): Promise<void> {
    const result = await this.run('security', ['delete-generic-password', '-s', this.service, '-a', this.account], { timeoutMs: 60_000 });
    if (result.code !== 0 && result.code !== SECURITY_ITEM_NOT_FOUND) throw unavailable(this.location, result);
  }
}

/**
 * Linux Secret Service (GNOME Keyring, KWallet) through `secret-tool` from libsecret-tools. The key
 * goes in on stdin; lookups print it on stdout.
 */
export class SecretServiceKeySource implements EncryptionKeySource {
  readonly kind = 'secret-service' as const;

  constructor(
    private readonly run: CommandRunner,
    private readonly attributes: Record<string, string>,
  ) {}

  get location(): string {
    return `Secret Service item ${Object.entries(this.attributes).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  }

  private get attributeArgs(): string[] {
    return Object.entries(this.attributes).flat();
  }

  /** secret-tool exits 1 silently for "not found" but prints an error when there is no keyring/D-Bus. */
  async probe(): Promise<string | undefined> {
    const result = await this.run('secret-tool', ['lookup', ...this.attributeArgs], { timeoutMs: 10_000 });
    if (result.missing) return 'secret-tool is not installed (package libsecret-tools)';
    if (result.code === 0 || (result.code === 1 && result.stderr.trim() === '')) return undefined;
    return `no Secret Service keyring is reachable (${describeFailure(result)})`;
  }

  async getKey(create: boolean): Promise<Buffer | undefined> {
    const found = await this.run('secret-tool', ['lookup', ...this.attributeArgs], { timeoutMs: 60_000 });
    if (found.code === 0 && found.stdout.trim() !== '') return decodeKey(found.stdout, this.location);
    if (!(found.code === 1 || found.code === 0) || found.stderr.trim() !== '') throw unavailable(this.location, found);
    if (!create) return undefined;
    const key = randomBytes(KEY_BYTES);
    const stored = await this.run('secret-tool', ['store', `--label=${KEYCHAIN_LABEL}`, ...this.attributeArgs], { input: key.toString('base64'), timeoutMs: 60_000 });
    if (stored.code !== 0) throw unavailable(this.location, stored);
    return key;
  }

  async deleteKey(): Promise<void> {
    const result = await this.run('secret-tool', ['clear', ...this.attributeArgs], { timeoutMs: 60_000 });
    // clear exits 1 when nothing matched; only an error message means the keyring failed.
    if (result.code !== 0 && result.stderr.trim() !== '') throw unavailable(this.location, result);
  }
}

function describeFailure(result: { code: number | null; stderr: string; timedOut?: boolean }): string {
  if (result.timedOut) return 'timed out; the keyring may be locked and waiting for a password prompt';
  const message = result.stderr.trim().split('\n')[0];
  return message ? `exit ${result.code}: ${message}` : `exit ${result.code}`;
}

function unavailable(where: string, result: { code: number | null; stderr: string; timedOut?: boolean }): TokenStoreError {
  return new TokenStoreError('unavailable', `The keychain holding the sign-in key (${where}) is not usable: ${describeFailure(result)}. Unlock your keychain/keyring and try again.`);
}
