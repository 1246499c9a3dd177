import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startIdentity } from '../../src/agent-services.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-identity-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('who the agent says is using the device (no OIDC sign-in configured)', () => {
  // BIFROST_EDGE_USER is the person's own to set: it must not sign their usage as someone else.
  const config = loadConfig({ env: { BIFROST_EDGE_USER: 'ceo@corp.example' }, overrides: { dataDir } });

  it('the subject Edge Control enrolled the device for wins over a configured user', async () => {
    const identity = await startIdentity(config, silentLogger, undefined, () => ({ sub: 'virtual-key:vk-123' }));
    expect(identity.user()).toEqual({ sub: 'virtual-key:vk-123', label: 'virtual-key:vk-123' });
    identity.close();
  });

  it('a configured user names a device nobody enrolled', async () => {
    const identity = await startIdentity(config, silentLogger);
    expect(identity.user()).toEqual({ email: 'ceo@corp.example', label: 'ceo@corp.example' });
    identity.close();
  });
});
