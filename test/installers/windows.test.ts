import { afterAll, describe, expect, it } from 'vitest';
import { installerSettings } from '../../src/installers/installer-settings.js';
import { windowsInstallerFiles } from '../../src/installers/windows.js';
import { readPowerShellVerbatimString, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

const trickyConfig = {
  gateway: { url: 'https://bifrost.example.com/$(whoami)' },
  auth: { issuer: 'https://login.example.com', clientId: "it's \u2018smart\u2019 \"double\" `tick` $env:TEMP 日本 😀" },
};
const files = windowsInstallerFiles(installerSettings(trickyConfig, { organization: 'Example Corp' }), { packageFile: 'Bifrost Edge Setup 1.0.msi' });

/** The value of `$Name = '…'` in a script, read with the spec tokenizer. */
function assignedLiteral(script: string, name: string): string {
  const start = script.indexOf(`$${name} = `);
  expect(start).toBeGreaterThanOrEqual(0);
  return readPowerShellVerbatimString(script, start + name.length + 4).value;
}

describe('Windows install scripts', () => {
  it('embed the Edge configuration as a literal PowerShell reads back exactly', () => {
    expect(JSON.parse(assignedLiteral(files['install.ps1'], 'EdgeConfigJson'))).toEqual(trickyConfig);
    // The registry value is read back through reg.exe in the console's code page: ASCII only survives that.
    expect(assignedLiteral(files['install.ps1'], 'EdgeConfigJson')).toMatch(/^[\x20-\x7e]*$/);
    expect(assignedLiteral(files['install.ps1'], 'PacUrl')).toBe('http://127.0.0.1:8790/proxy.pac');
  });

  it('start with a UTF-8 BOM so Windows PowerShell 5.1 reads non-ASCII text correctly', () => {
    for (const script of Object.values(files)) expect(script.startsWith('\uFEFF#Requires -Version 5.1')).toBe(true);
  });

  it('install silently (MSI via msiexec /qn, NSIS via /S) and trust the CA with the shared certutil command', () => {
    const install = files['install.ps1'];
    expect(install).toContain("$PackageFile = Join-Path $PSScriptRoot 'Bifrost Edge Setup 1.0.msi'");
    expect(install).toContain("'/qn', '/norestart'");
    expect(install).toContain("-ArgumentList '/S'");
    expect(install).toContain("Set-RegistryValue 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings' 'ProxySettingsPerUser' 0 'DWord'");
    expect(files['trust-device-ca.ps1']).toContain("& 'certutil' '-addstore' 'Root' $caPath");
    // Machine variables point at %ProgramData% copies; lower-case duplicates are the same variable on Windows.
    expect(files['trust-device-ca.ps1']).toContain("'NODE_EXTRA_CA_CERTS' = (Join-Path $MachineDir 'ca.pem')");
    expect(files['trust-device-ca.ps1']).not.toContain("'https_proxy'");
    expect(() => windowsInstallerFiles(installerSettings({}), { packageFile: '..\\setup.exe' })).toThrow(/must be a file name/);
  });

  it('never write "$name:" inside a double-quoted string (PowerShell would read a drive-qualified variable)', () => {
    for (const [name, script] of Object.entries(files)) {
      const suspicious = [...script.matchAll(/"[^"\n]*\$(?!env:)[A-Za-z_]\w*:[^"\n]*"/g)].map((match) => match[0]);
      expect(suspicious, name).toEqual([]);
    }
  });
});
