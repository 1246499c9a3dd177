import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { SyncCommandRunner } from '../../src/config/system-command.js';
import { PLUTIL } from '../../src/config/macos-managed-preferences.js';
import { MACOS_MANAGED_PREFERENCES_PLIST } from '../../src/installers/managed-config.js';
import { requireTool } from '../installers/support.js';

/**
 * macOS's plutil is not here, so Python's plistlib (the reference plist reader these tests already use,
 * see test/installers/mobileconfig.test.ts) plays its part:
 * - `materializeManagedPreferences` does what macOS does with a profile: writes the forced
 *   com.bifrost.edge settings as a binary plist (/Library/Managed Preferences/com.bifrost.edge.plist);
 * - `plutilStandIn` answers `plutil -convert json|xml1 -o - -- <file>` for that path like plutil: JSON
 *   when every value has a JSON form, else exit 1 with plutil's message; XML always.
 */

const MATERIALIZE = `
import plistlib, sys
with open(sys.argv[1], 'rb') as f: profile = plistlib.load(f)
payload = next(p for p in profile['PayloadContent'] if p['PayloadType'] == 'com.apple.ManagedClient.preferences')
settings = payload['PayloadContent']['com.bifrost.edge']['Forced'][0]['mcx_preference_settings']
with open(sys.argv[2], 'wb') as f: plistlib.dump(settings, f, fmt=plistlib.FMT_BINARY)
`;

const CONVERT = `
import json, plistlib, sys
with open(sys.argv[2], 'rb') as f: value = plistlib.load(f)
if sys.argv[1] == 'xml1':
    sys.stdout.buffer.write(plistlib.dumps(value, fmt=plistlib.FMT_XML))
else:
    try:
        sys.stdout.write(json.dumps(value, ensure_ascii=False, separators=(',', ':')))
    except TypeError:
        sys.stderr.write(sys.argv[3] + ': invalid object in plist for destination format\\n')
        sys.exit(1)
`;

/** Writes the profile's forced settings where `plutilStandIn` reads them; returns that file. */
export function materializeManagedPreferences(profileXml: string, dir: string): string {
  requireTool('python3', 'python3');
  const profile = path.join(dir, 'profile.mobileconfig');
  const materialized = path.join(dir, 'com.bifrost.edge.plist');
  fs.writeFileSync(profile, profileXml);
  execFileSync('python3', ['-c', MATERIALIZE, profile, materialized]);
  return materialized;
}

/** A runner that answers plutil for the managed-preferences path from `materialized`; records every call. */
export function plutilStandIn(materialized: string): SyncCommandRunner & { calls: string[][] } {
  requireTool('python3', 'python3');
  const calls: string[][] = [];
  const run = (argv: readonly string[]) => {
    calls.push([...argv]);
    const [program, convert, format, output, dash, dashes, file] = argv;
    if (program !== PLUTIL || convert !== '-convert' || output !== '-o' || dash !== '-' || dashes !== '--' || file !== MACOS_MANAGED_PREFERENCES_PLIST) {
      return { exitCode: 1, stdout: '', stderr: `unexpected command ${JSON.stringify(argv)}` };
    }
    const result = spawnSync('python3', ['-c', CONVERT, format!, materialized, file], { encoding: 'utf8' });
    return { exitCode: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  };
  return Object.assign(run, { calls });
}
