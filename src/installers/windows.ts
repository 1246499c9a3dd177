import { trustStoreInstallCommands } from '../ca/trust-stores.js';
import { CA_BUNDLE_FILE, CA_CERT_SEGMENTS, WINDOWS_DATA_DIR_IN_PROFILE, WINDOWS_DATA_DIR_NAME } from './edge-paths.js';
import type { InstallerSettings } from './installer-settings.js';
import { WINDOWS_POLICY_CONFIG_VALUE, WINDOWS_POLICY_KEY } from './managed-config.js';
import { powerShellQuote } from './quoting.js';
import { clientEnvironmentTemplate, placeholder, renderPowerShellCommand } from './script-rendering.js';

/**
 * Windows deployment (Intune Win32 app, GPO computer startup script, SCCM): PowerShell run as SYSTEM
 * or an elevated administrator.
 *
 * Edge makes its CA per user at first run, after the installer is long gone, so the installer leaves
 * a scheduled task behind: at each logon (and every 10 minutes for the hour after) it trusts every
 * Edge CA found in user profiles in the machine Root store, and publishes the newest one and its
 * bundle under %ProgramData% for the machine-wide CLI variables. (Machine variables cannot point into
 * a profile: Windows expands them before it knows %USERPROFILE%.)
 * Trade-off: a local user can get a CA they made trusted machine-wide. On shared machines, prefer
 * trusting each device's CA through your MDM instead of this task.
 */

export const DEFAULT_WINDOWS_PACKAGE = 'Bifrost-Edge-Setup.exe';
export const DEFAULT_PRODUCT_NAME = 'Bifrost Edge';
export const TRUST_SCRIPT_FILE = 'trust-device-ca.ps1';
const TASK_PATH = '\\Bifrost Edge\\';
const TASK_NAME = 'Trust device CA';
/** Where Edge's own CAs are recognized: self-signed with this organization (see src/ca/ca-certificate.ts). */
const EDGE_CA_SUBJECT_PATTERN = '(^|, )O=Bifrost Edge(,|$)';

export interface WindowsInstallerOptions {
  /** File name of the MSI or NSIS installer placed next to install.ps1 (.msi → msiexec /qn, else /S). */
  packageFile?: string;
  /** DisplayName prefix of the uninstall entry, to find the package again for removal. */
  productName?: string;
}

export interface WindowsInstallerFiles {
  'install.ps1': string;
  'uninstall.ps1': string;
  [TRUST_SCRIPT_FILE]: string;
}

export function windowsInstallerFiles(settings: InstallerSettings, options: WindowsInstallerOptions = {}): WindowsInstallerFiles {
  return {
    'install.ps1': windowsInstallScript(settings, options),
    'uninstall.ps1': windowsUninstallScript(settings, options),
    [TRUST_SCRIPT_FILE]: windowsTrustScript(settings),
  };
}

/**
 * Windows PowerShell 5.1 reads a script without a byte-order mark in the ANSI code page, which would
 * garble any non-ASCII value (an organization name, a path); the BOM makes it read UTF-8.
 */
const UTF8_BOM = '\uFEFF';

const PROXY_POLICY_KEY = 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';
const MACHINE_INTERNET_SETTINGS_KEY = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';
const FIREFOX_CERTIFICATES_POLICY_KEY = 'HKLM:\\SOFTWARE\\Policies\\Mozilla\\Firefox\\Certificates';

function commonVariables(settings: InstallerSettings): string {
  return [
    `$PolicyKey = ${powerShellQuote(`HKLM:\\${WINDOWS_POLICY_KEY.slice('HKLM\\'.length)}`)}`,
    `$PacUrl = ${powerShellQuote(settings.pacUrl)}`,
    `$MachineDir = Join-Path $env:ProgramData ${powerShellQuote(WINDOWS_DATA_DIR_NAME)}`,
    `$TaskPath = ${powerShellQuote(TASK_PATH)}`,
    `$TaskName = ${powerShellQuote(TASK_NAME)}`,
  ].join('\n');
}

/**
 * The CLI variables, machine-wide, pointing at the copies under %ProgramData%. Windows variable names
 * ignore case, so clientEnvironment's lower-case duplicates (https_proxy…) are dropped.
 */
function machineEnvironmentTable(settings: InstallerSettings): string {
  const seen = new Set<string>();
  const rows: string[] = [];
  for (const { name, value } of clientEnvironmentTemplate(settings.proxyUrl)) {
    if (seen.has(name.toUpperCase())) continue;
    seen.add(name.toUpperCase());
    const expression =
      value.kind === 'ca' ? `(Join-Path $MachineDir ${powerShellQuote(CA_CERT_SEGMENTS.at(-1)!)})`
      : value.kind === 'bundle' ? `(Join-Path $MachineDir ${powerShellQuote(CA_BUNDLE_FILE)})`
      : powerShellQuote(value.value);
    rows.push(`  ${powerShellQuote(name)} = ${expression}`);
  }
  return `$ClientEnvironment = [ordered]@{\n${rows.join('\n')}\n}`;
}

const HEADER_PREAMBLE = `$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0`;

/**
 * Intune runs Win32 app commands in 32-bit PowerShell, where HKLM\SOFTWARE writes land in WOW6432Node
 * and 64-bit apps never see them: start again as 64-bit PowerShell when that happens.
 */
const RELAUNCH_AS_64_BIT = `if ($env:PROCESSOR_ARCHITEW6432 -and -not [Environment]::Is64BitProcess) {
  & (Join-Path $env:WINDIR 'SysNative\\WindowsPowerShell\\v1.0\\powershell.exe') -NoProfile -ExecutionPolicy Bypass -File $PSCommandPath
  exit $LASTEXITCODE
}`;

export function windowsInstallScript(settings: InstallerSettings, options: WindowsInstallerOptions = {}): string {
  const packageFile = options.packageFile ?? DEFAULT_WINDOWS_PACKAGE;
  if (/[\\/:*?"<>|]/.test(packageFile)) throw new Error(`--package ${JSON.stringify(packageFile)} must be a file name (no folders): put the installer next to install.ps1.`);
  return `${UTF8_BOM}#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
  Bifrost Edge silent install for Intune (Win32 app) or a GPO computer startup script.
  Runs as SYSTEM or an elevated administrator, from a folder that also holds ${packageFile} and
  ${TRUST_SCRIPT_FILE}. Intune install command:
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\install.ps1
  Detection rule: registry ${WINDOWS_POLICY_KEY}, value ${WINDOWS_POLICY_CONFIG_VALUE} exists.
  Safe to run again. Generated by \`bifrost-edge installers windows\`; regenerate rather than edit.
#>
${HEADER_PREAMBLE}
${RELAUNCH_AS_64_BIT}

$PackageFile = Join-Path $PSScriptRoot ${powerShellQuote(packageFile)}
$EdgeConfigJson = ${powerShellQuote(asciiJson(settings.edgeConfig))}
${commonVariables(settings)}

function Set-RegistryValue([string]$Key, [string]$Name, $Value, [string]$Type) {
  # New-Item -Force on an existing key would wipe its other values, so create only when missing.
  if (-not (Test-Path -LiteralPath $Key)) { New-Item -Path $Key -Force | Out-Null }
  New-ItemProperty -LiteralPath $Key -Name $Name -Value $Value -PropertyType $Type -Force | Out-Null
}

# 1. The application, silently.
if (-not (Test-Path -LiteralPath $PackageFile)) {
  throw "$PackageFile is missing: put the Bifrost Edge installer next to install.ps1 (in the .intunewin source folder), or regenerate with --package <file name>."
}
if ($PackageFile -like '*.msi') {
  $installer = Start-Process -FilePath 'msiexec.exe' -ArgumentList @('/i', ('"{0}"' -f $PackageFile), '/qn', '/norestart') -Wait -PassThru
} else {
  $installer = Start-Process -FilePath $PackageFile -ArgumentList '/S' -Wait -PassThru
}
# 3010 = installed, restart pending; Intune reports it as a soft reboot.
if ($installer.ExitCode -notin @(0, 3010)) {
  throw ("{0} failed with exit code {1}: run it by hand to see the error (msiexec: add /l*v install.log)." -f $PackageFile, $installer.ExitCode)
}

# 2. The Edge configuration every user's Edge reads (administrators only can change it).
Set-RegistryValue $PolicyKey ${powerShellQuote(WINDOWS_POLICY_CONFIG_VALUE)} $EdgeConfigJson 'String'

# 3. Automatic proxy configuration for the machine. The PAC file sends only AI hosts to Edge.
#    "Make proxy settings per-machine (rather than per-user)" makes WinINet (browsers, most apps) read HKLM.
Set-RegistryValue ${powerShellQuote(PROXY_POLICY_KEY)} 'ProxySettingsPerUser' 0 'DWord'
Set-RegistryValue ${powerShellQuote(MACHINE_INTERNET_SETTINGS_KEY)} 'AutoConfigURL' $PacUrl 'String'

# 4. Firefox keeps its own roots unless told to read the Windows store, where the task below puts Edge's CA.
Set-RegistryValue ${powerShellQuote(FIREFOX_CERTIFICATES_POLICY_KEY)} 'ImportEnterpriseRoots' 1 'DWord'

# 5. A folder only SYSTEM and Administrators can write: the task runs its script as SYSTEM, and
#    users' tools read the published CA and bundle from it.
if (-not (Test-Path -LiteralPath $MachineDir)) { New-Item -ItemType Directory -Path $MachineDir | Out-Null }
& icacls.exe $MachineDir /setowner '*S-1-5-32-544' | Out-Null
& icacls.exe $MachineDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-32-545:(OI)(CI)RX' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls could not restrict $MachineDir (exit code $LASTEXITCODE): check that the script runs as SYSTEM or an administrator." }
Copy-Item -LiteralPath (Join-Path $PSScriptRoot ${powerShellQuote(TRUST_SCRIPT_FILE)}) -Destination (Join-Path $MachineDir ${powerShellQuote(TRUST_SCRIPT_FILE)}) -Force

# 6. Trust each user's device CA once Edge has made it (it does so on its first run).
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f (Join-Path $MachineDir ${powerShellQuote(TRUST_SCRIPT_FILE)}))
$atLogon = New-ScheduledTaskTrigger -AtLogOn
$atLogon.Delay = 'PT1M'
# Edge may start a little after logon: look again every 10 minutes for an hour.
$atLogon.Repetition = (New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Minutes 10) -RepetitionDuration (New-TimeSpan -Hours 1)).Repetition
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$taskSettings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -ExecutionTimeLimit (New-TimeSpan -Minutes 5)
Register-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Action $action -Trigger $atLogon -Principal $principal -Settings $taskSettings -Description 'Trusts the Bifrost Edge CA of each user of this computer.' -Force | Out-Null
# Users who already ran Edge are trusted right away.
Start-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName

Write-Output 'Bifrost Edge installed. Each user is protected after their next sign-in.'
`;
}

/** The SYSTEM task's script: trusts every user's Edge CA and publishes the newest for CLI tools. */
export function windowsTrustScript(settings: InstallerSettings): string {
  const ca = placeholder('ca');
  const addToRoot = trustStoreInstallCommands('windows', { certPath: ca }, 'system')
    .map((command) => `    ${renderPowerShellCommand(command.argv, { [ca]: 'caPath' })} | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "certutil could not add $caPath to the machine Root store (exit code $LASTEXITCODE)." }`)
    .join('\n');
  return `${UTF8_BOM}#Requires -Version 5.1
<#
  Run as SYSTEM by the scheduled task "${TASK_PATH}${TASK_NAME}" that install.ps1 registers.
  Trusts the Bifrost Edge CA of every user profile in the machine Root store, and copies the newest CA
  and its bundle to %ProgramData%\\${WINDOWS_DATA_DIR_NAME} for the machine-wide CLI variables.
  Log: %ProgramData%\\${WINDOWS_DATA_DIR_NAME}\\trust-device-ca.log
  Generated by \`bifrost-edge installers windows\`; regenerate rather than edit.
#>
${HEADER_PREAMBLE}

${commonVariables(settings)}
$DataDirInProfile = ${powerShellQuote(WINDOWS_DATA_DIR_IN_PROFILE)}
$Log = Join-Path $MachineDir 'trust-device-ca.log'
${machineEnvironmentTable(settings)}

function Write-Log([string]$Message) {
  Add-Content -LiteralPath $Log -Value ('{0:u} {1}' -f (Get-Date), $Message)
}

$newest = $null
foreach ($userProfile in Get-CimInstance -ClassName Win32_UserProfile -Filter 'Special = False') {
  $dataDir = Join-Path $userProfile.LocalPath $DataDirInProfile
  $caPath = Join-Path $dataDir ${powerShellQuote(CA_CERT_SEGMENTS.join('\\'))}
  if (-not (Test-Path -LiteralPath $caPath)) { continue }
  $certificate = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $caPath
  # Only Edge's kind of CA (self-signed, O=Bifrost Edge) — keeps stray files out of the machine store.
  if ($certificate.Subject -ne $certificate.Issuer -or $certificate.Subject -notmatch ${powerShellQuote(EDGE_CA_SUBJECT_PATTERN)}) {
    Write-Log "skipped $caPath ($($certificate.Subject)): not a Bifrost Edge CA"
    continue
  }
  if (-not (Test-Path -LiteralPath ('Cert:\\LocalMachine\\Root\\' + $certificate.Thumbprint))) {
${addToRoot}
    Write-Log "trusted $caPath ($($certificate.Thumbprint))"
  }
  $file = Get-Item -LiteralPath $caPath
  if ($null -eq $newest -or $file.LastWriteTimeUtc -gt $newest.File.LastWriteTimeUtc) {
    $newest = @{ File = $file; DataDir = $dataDir }
  }
}

if ($null -eq $newest) { exit 0 }
Copy-Item -LiteralPath $newest.File.FullName -Destination (Join-Path $MachineDir ${powerShellQuote(CA_CERT_SEGMENTS.at(-1)!)}) -Force
$bundle = Join-Path $newest.DataDir ${powerShellQuote(CA_BUNDLE_FILE)}
if (-not (Test-Path -LiteralPath $bundle)) {
  # Pointing tools at a missing bundle would break all their HTTPS; wait until Edge has written it.
  Write-Log "no $bundle yet (Edge writes it when it runs): CLI variables are set on a later run"
  exit 0
}
Copy-Item -LiteralPath $bundle -Destination (Join-Path $MachineDir ${powerShellQuote(CA_BUNDLE_FILE)}) -Force
foreach ($variable in $ClientEnvironment.GetEnumerator()) {
  $current = [Environment]::GetEnvironmentVariable($variable.Key, 'Machine')
  if ($current -ne $variable.Value) {
    if ($current) { Write-Log "replacing machine variable $($variable.Key)=$current" }
    [Environment]::SetEnvironmentVariable($variable.Key, $variable.Value, 'Machine')
  }
}
`;
}

export function windowsUninstallScript(settings: InstallerSettings, options: WindowsInstallerOptions = {}): string {
  const productName = options.productName ?? DEFAULT_PRODUCT_NAME;
  return `${UTF8_BOM}#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
  Removes Bifrost Edge and everything install.ps1 set up. Runs as SYSTEM or an elevated administrator.
  Intune uninstall command: powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\uninstall.ps1
  Safe to run again. Generated by \`bifrost-edge installers windows\`; regenerate rather than edit.
#>
${HEADER_PREAMBLE}
${RELAUNCH_AS_64_BIT}

$ProductName = ${powerShellQuote(productName)}
${commonVariables(settings)}
${machineEnvironmentTable(settings)}

# 1. The task first, so it cannot trust a CA again while we remove them.
Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue

# 2. Every Bifrost Edge CA in the machine Root store (each user's, before and after renewals).
Get-ChildItem -Path 'Cert:\\LocalMachine\\Root' |
  Where-Object { $_.Subject -eq $_.Issuer -and $_.Subject -match ${powerShellQuote(EDGE_CA_SUBJECT_PATTERN)} } |
  ForEach-Object {
    & certutil.exe -delstore Root $_.Thumbprint | Out-Null
    if ($LASTEXITCODE -ne 0) { Write-Warning ("could not remove {0} ({1}) from the Root store: remove it in certlm.msc." -f $_.Subject, $_.Thumbprint) }
  }

# 3. Machine CLI variables, only where they still hold what the task set.
foreach ($variable in $ClientEnvironment.GetEnumerator()) {
  if ([Environment]::GetEnvironmentVariable($variable.Key, 'Machine') -eq $variable.Value) {
    [Environment]::SetEnvironmentVariable($variable.Key, $null, 'Machine')
  }
}

# 4. Proxy auto-configuration, only if it is still ours. (Firefox's ImportEnterpriseRoots policy is
#    left alone: other software may rely on it.)
$internetSettings = ${powerShellQuote(MACHINE_INTERNET_SETTINGS_KEY)}
if ((Get-ItemPropertyValue -LiteralPath $internetSettings -Name 'AutoConfigURL' -ErrorAction SilentlyContinue) -eq $PacUrl) {
  Remove-ItemProperty -LiteralPath $internetSettings -Name 'AutoConfigURL'
  Remove-ItemProperty -LiteralPath ${powerShellQuote(PROXY_POLICY_KEY)} -Name 'ProxySettingsPerUser' -ErrorAction SilentlyContinue
}

# 5. The managed configuration and the published CA files.
Remove-Item -LiteralPath $PolicyKey -Recurse -Force -ErrorAction SilentlyContinue
Remove-Item -LiteralPath $MachineDir -Recurse -Force -ErrorAction SilentlyContinue

# 6. The application: MSI by product code, NSIS by its quiet uninstall command.
$entry = Get-ChildItem -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall', 'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall' -ErrorAction SilentlyContinue |
  Get-ItemProperty |
  Where-Object { $_.PSObject.Properties['DisplayName'] -and $_.DisplayName -like "$ProductName*" } |
  Select-Object -First 1
if ($null -ne $entry) {
  if ($entry.PSChildName -match '^\\{[0-9A-Fa-f-]{36}\\}$') {
    $uninstaller = Start-Process -FilePath 'msiexec.exe' -ArgumentList @('/x', $entry.PSChildName, '/qn', '/norestart') -Wait -PassThru
  } else {
    $command = if ($entry.PSObject.Properties['QuietUninstallString']) { $entry.QuietUninstallString } else { $entry.UninstallString + ' /S' }
    # cmd /s /c "<command>": /s strips only the outer quotes, so a quoted path with spaces survives.
    $uninstaller = Start-Process -FilePath 'cmd.exe' -ArgumentList ('/d /s /c "{0}"' -f $command) -Wait -PassThru
  }
  if ($uninstaller.ExitCode -notin @(0, 3010)) {
    throw ("uninstalling {0} failed with exit code {1}: remove it in Settings > Apps." -f $entry.DisplayName, $uninstaller.ExitCode)
  }
}
Write-Output 'Bifrost Edge removed.'
`;
}

/**
 * JSON with every non-ASCII character written as a \uXXXX escape. The agent reads the registry value
 * back through reg.exe, which prints in the console's code page: an "é" would come back garbled, an
 * escape comes back as written and parses to the same string.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
