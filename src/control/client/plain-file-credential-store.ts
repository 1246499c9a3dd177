import path from 'node:path';
import { z } from 'zod';
import {
  DeviceCredentialStoreError, type DeviceCredential, type DeviceCredentialStore, type DeviceCredentialStoreDescription,
} from './device-credential-store.js';
import { readJsonFile, removeFile, writePrivateJson } from './private-json-file.js';

export const PLAIN_CREDENTIAL_FILE = 'device-credential.json';

const PlainCredentialSchema = z.strictObject({
  control_url: z.string().min(1),
  device_id: z.string().min(1),
  device_credential: z.string().min(1),
});

/**
 * The default store: the credential in plain JSON, owner-only (0600 in a 0700 folder), written
 * atomically — the protection the credential always had, in a file of its own so enrollment.json
 * holds no secret. Agents that can reach an OS keychain should pass a protected store instead.
 */
export class PlainFileCredentialStore implements DeviceCredentialStore {
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, PLAIN_CREDENTIAL_FILE);
  }

  describe(): DeviceCredentialStoreDescription {
    return {
      backend: 'plain-file',
      location: this.file,
      warning: 'the device credential is stored in plain text, protected only by file permissions (0600); any program running as this user can read it',
    };
  }

  async load(): Promise<DeviceCredential | undefined> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.file);
    } catch (err) {
      throw new DeviceCredentialStoreError('io', (err as Error).message, { cause: err });
    }
    if (raw === undefined) return undefined;
    const parsed = PlainCredentialSchema.safeParse(raw);
    if (!parsed.success) throw new DeviceCredentialStoreError('corrupt', `${this.file} is not a device credential file`);
    return { controlUrl: parsed.data.control_url, deviceId: parsed.data.device_id, credential: parsed.data.device_credential };
  }

  async save(credential: DeviceCredential): Promise<void> {
    try {
      await writePrivateJson(this.file, { control_url: credential.controlUrl, device_id: credential.deviceId, device_credential: credential.credential });
    } catch (err) {
      throw new DeviceCredentialStoreError('io', `cannot write ${this.file} (${(err as Error).message})`, { cause: err });
    }
  }

  async clear(): Promise<void> {
    await removeFile(this.file);
  }
}
