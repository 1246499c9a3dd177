import { describe, expect, it } from 'vitest';
import { locateManagedConfig, machineConfigPath } from '../../src/tray/managed-config.js';

describe('managed configuration location', () => {
  it.each([
    { platform: 'darwin' as const, env: {}, path: '/Library/Application Support/Bifrost Edge/config.json' },
    { platform: 'win32' as const, env: { ProgramData: 'D:\\ProgramData' }, path: 'D:\\ProgramData\\Bifrost Edge\\config.json' },
    { platform: 'win32' as const, env: {}, path: 'C:\\ProgramData\\Bifrost Edge\\config.json' },
    { platform: 'linux' as const, env: {}, path: '/etc/bifrost-edge/config.json' },
  ])('machine-wide file on $platform', ({ platform, env, path }) => {
    expect(machineConfigPath(platform, env)).toBe(path);
  });

  it.each([
    { name: 'BIFROST_EDGE_CONFIG wins, even when the machine file exists', env: { BIFROST_EDGE_CONFIG: '/tmp/edge.json' }, exists: true, file: '/tmp/edge.json', source: /BIFROST_EDGE_CONFIG/ },
    { name: 'BIFROST_EDGE_CONFIG is passed on when missing, so loading says which file', env: { BIFROST_EDGE_CONFIG: '/nope.json' }, exists: false, file: '/nope.json', source: /BIFROST_EDGE_CONFIG/ },
    { name: 'the machine file when present', env: {}, exists: true, file: '/etc/bifrost-edge/config.json', source: /machine-wide/ },
    { name: 'defaults when there is none', env: {}, exists: false, file: undefined, source: /no managed configuration \(\/etc\/bifrost-edge\/config.json does not exist\)/ },
    { name: 'an empty BIFROST_EDGE_CONFIG is ignored', env: { BIFROST_EDGE_CONFIG: '' }, exists: false, file: undefined, source: /no managed configuration/ },
  ])('$name', ({ env, exists, file, source }) => {
    const location = locateManagedConfig('linux', env, () => exists);
    expect(location.file).toBe(file);
    expect(location.source).toMatch(source);
  });
});
