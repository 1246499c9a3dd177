import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { ensureCa } from '../agent.js';
import { clientEnvironment } from '../ca/client-environment.js';
import { PREVIOUS_CA_SUFFIX } from '../ca/certificate-authority.js';
import {
  DEFAULT_NSS_NICKNAME,
  installIntoNssDb,
  nssAddCertificateArgs,
  nssCreateDatabaseArgs,
  nssDeleteCertificateArgs,
  removeFromNssDb,
  type NssOptions,
} from '../ca/nss-database.js';
import {
  detectTrustStorePlatform,
  trustStoreInstallCommands,
  trustStoreRemoveCommands,
  type TrustStoreCommand,
  type TrustStorePlatform,
  type TrustStoreScope,
} from '../ca/trust-stores.js';
import { defaultDataDir } from '../config/data-dir.js';
import { fileExists } from '../util/file-exists.js';
import { createLogger } from '../log.js';
import { execCommand, type CommandRunner } from './command-runner.js';
import { caCertPath, writeCaBundle } from './edge-paths.js';
import { CHROMIUM_NSS_DATABASES, findNssDatabases, FIREFOX_PROFILE_GLOB, FIREFOX_PROFILE_ROOTS, type NssDatabaseLocation } from './nss-locations.js';
import { fishQuote, posixShellQuote, powerShellQuote } from './quoting.js';
import { renderPowerShellCommand, renderShellCommand } from './script-rendering.js';

/**
 * `bifrost-edge ca install | uninstall | env`. Each function takes its dependencies (platform, command
 * runner, data dir, output) and returns an exit code: 0 done, 1 failed (the message says what to do).
 */

export interface CaFiles {
  certPath: string;
  certPem: string;
}

export interface CaCommandDeps {
  platform: NodeJS.Platform;
  /** Text of /etc/os-release on Linux, to tell Debian-like from RHEL-like systems. */
  osRelease: string;
  /** The user's Edge data dir (where the CA lives). */
  dataDir: string;
  /** The user's home, for browser NSS databases. */
  homeDir: string;
  /** http://127.0.0.1:8790 */
  proxyUrl: string;
  /** root, or an elevated Windows process. */
  isAdmin: boolean;
  /** Set when running as root through sudo on behalf of this user: files made now would belong to root. */
  sudoUser?: string;
  run: CommandRunner;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The device CA; made first when `create` and missing; undefined when missing and not made. */
  loadCa(options: { create: boolean }): Promise<CaFiles | undefined>;
  nss?: NssOptions;
}

export interface CaInstallOptions {
  /** system: OS trust store for every user (admin). user: this user's store and browsers. Default: system when admin. */
  scope?: TrustStoreScope;
  /** Print the commands instead of running them. */
  dryRun?: boolean;
}

export type EnvShell = 'bash' | 'fish' | 'powershell';
export const ENV_SHELLS: readonly EnvShell[] = ['bash', 'fish', 'powershell'];

export interface CaEnvOptions {
  /** Default: powershell on Windows, bash elsewhere (zsh and sh read the same lines). */
  shell?: EnvShell;
}

/** A step of an install or uninstall: an OS command, or an NSS database (done with certutil through src/ca). */
type Step = { kind: 'command'; command: TrustStoreCommand } | { kind: 'nss'; location: NssDatabaseLocation };

export async function runCaInstall(deps: CaCommandDeps, options: CaInstallOptions = {}): Promise<number> {
  try {
    const scope = options.scope ?? (deps.isAdmin ? 'system' : 'user');
    let ca = await deps.loadCa({ create: false });
    if (!ca && !options.dryRun) {
      if (deps.sudoUser !== undefined) throw missingCaUnderSudo(deps);
      ca = await deps.loadCa({ create: true });
    }
    const certPath = ca?.certPath ?? caCertPath(deps.dataDir);
    const steps = await installSteps(deps, scope, certPath);
    if (options.dryRun) {
      if (!ca) deps.stdout(`${comment(deps, `${certPath} does not exist yet: Edge makes it on first run (or \`bifrost-edge ca path\`).`)}\n`);
      printSteps(deps, steps, 'install', certPath);
      return 0;
    }
    refuseWithoutAdmin(deps, steps);
    for (const step of steps) {
      if (step.kind === 'command') await runOrExplain(deps, step.command);
      else {
        await installIntoNssDb(step.location.dir, certPath, DEFAULT_NSS_NICKNAME, deps.nss);
        deps.stderr(`Trusted the CA in ${step.location.browser === 'firefox' ? 'Firefox profile' : 'Chromium NSS database'} ${step.location.dir}.\n`);
      }
    }
    if (deps.sudoUser === undefined) await writeCaBundle(deps.dataDir, ca!.certPem);
    deps.stderr(`${afterInstallHint(deps, scope)}\n`);
    return 0;
  } catch (error) {
    deps.stderr(`bifrost-edge ca install: ${(error as Error).message}\n`);
    return 1;
  }
}

export async function runCaUninstall(deps: CaCommandDeps, options: CaInstallOptions = {}): Promise<number> {
  try {
    const scope = options.scope ?? (deps.isAdmin ? 'system' : 'user');
    const cas = await currentAndPreviousCa(deps);
    const steps = await uninstallSteps(deps, scope, cas);
    if (steps.length === 0) {
      deps.stderr(`${nothingToRemove(deps, scope)}\n`);
      return 0;
    }
    if (options.dryRun) {
      printSteps(deps, steps, 'uninstall', caCertPath(deps.dataDir));
      return 0;
    }
    refuseWithoutAdmin(deps, steps);
    for (const step of steps) {
      if (step.kind === 'command') {
        const result = await deps.run(step.command.argv);
        // Removal is best effort: a CA that was never trusted in one store is not an error.
        if (result.exitCode !== 0) deps.stderr(`warning: ${display(deps, step.command.argv)} exited with ${result.exitCode} (${oneLine(result.stderr || result.stdout)}); it may not have been installed there.\n`);
      } else {
        await removeFromNssDb(step.location.dir, DEFAULT_NSS_NICKNAME, deps.nss);
        deps.stderr(`Removed the CA from ${step.location.dir}.\n`);
      }
    }
    return 0;
  } catch (error) {
    deps.stderr(`bifrost-edge ca uninstall: ${(error as Error).message}\n`);
    return 1;
  }
}

/**
 * Prints the variables that send CLI tools through Edge and make them trust its CA, and writes the
 * CA bundle (public roots + our CA) they point at. Use: eval "$(bifrost-edge ca env)".
 */
export async function runCaEnv(deps: CaCommandDeps, options: CaEnvOptions = {}): Promise<number> {
  try {
    const shell = options.shell ?? (deps.platform === 'win32' ? 'powershell' : 'bash');
    const ca = await deps.loadCa({ create: deps.sudoUser === undefined });
    if (!ca) throw missingCaUnderSudo(deps);
    const bundlePath = await writeCaBundle(deps.dataDir, ca.certPem);
    const environment = clientEnvironment(ca.certPath, deps.proxyUrl, { caBundlePath: bundlePath });
    const usage = { bash: 'eval "$(bifrost-edge ca env)"', fish: 'bifrost-edge ca env --shell fish | source', powershell: 'bifrost-edge ca env --shell powershell | Out-String | Invoke-Expression' }[shell];
    const lines = [`# Bifrost Edge: send CLI tools through ${deps.proxyUrl} and trust its CA. Use: ${usage}`];
    for (const [name, value] of Object.entries(environment)) lines.push(envLine(shell, name, value));
    deps.stdout(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    deps.stderr(`bifrost-edge ca env: ${(error as Error).message}\n`);
    return 1;
  }
}

export function envLine(shell: EnvShell, name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a valid environment variable name.`);
  switch (shell) {
    case 'bash':
      return `export ${name}=${posixShellQuote(value)}`;
    case 'fish':
      return `set -gx ${name} ${fishQuote(value)}`;
    case 'powershell':
      return `$env:${name} = ${powerShellQuote(value)}`;
  }
}

/** Real dependencies for the CLI: this process's platform, user, privileges and commands. */
export async function defaultCaCommandDeps(options: { dataDir: string; proxyUrl: string }): Promise<CaCommandDeps> {
  const platform = process.platform;
  const run = execCommand;
  const isAdmin = platform === 'win32' ? (await run(['net', 'session'])).exitCode === 0 : process.getuid?.() === 0;
  const sudoUser = isAdmin && platform !== 'win32' && process.env.SUDO_USER && process.env.SUDO_USER !== 'root' ? process.env.SUDO_USER : undefined;
  let { dataDir } = options;
  let homeDir = os.homedir();
  if (sudoUser !== undefined) {
    // sudo may leave HOME at root's: then act on the caller's data dir, unless --data-dir chose one.
    const callerHome = await homeOf(sudoUser, platform, run);
    if (callerHome && dataDir === defaultDataDir(platform, process.env, os.homedir())) dataDir = defaultDataDir(platform, {}, callerHome);
    homeDir = callerHome ?? homeDir;
  }
  const log = createLogger('warn');
  return {
    platform,
    osRelease: platform === 'linux' ? await readFile('/etc/os-release', 'utf8').catch(() => readFile('/usr/lib/os-release', 'utf8').catch(() => '')) : '',
    dataDir,
    homeDir,
    proxyUrl: options.proxyUrl,
    isAdmin,
    ...(sudoUser !== undefined ? { sudoUser } : {}),
    run,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    loadCa: async ({ create }) => {
      if (create) return ensureCa(dataDir, log);
      return readCaFile(caCertPath(dataDir));
    },
  };
}

async function installSteps(deps: CaCommandDeps, scope: TrustStoreScope, certPath: string): Promise<Step[]> {
  if (deps.platform === 'linux' && scope === 'user') {
    return (await findNssDatabases(deps.homeDir)).map((location) => ({ kind: 'nss', location }));
  }
  return trustStoreInstallCommands(osFamily(deps), { certPath }, scope).map((command) => ({ kind: 'command', command }));
}

async function uninstallSteps(deps: CaCommandDeps, scope: TrustStoreScope, cas: CaFiles[]): Promise<Step[]> {
  if (deps.platform === 'linux') {
    if (scope === 'user') {
      const locations = await findNssDatabases(deps.homeDir);
      const present = await Promise.all(locations.map((location) => fileExists(`${location.dir}/cert9.db`)));
      return locations.filter((_, index) => present[index]).map((location) => ({ kind: 'nss', location }));
    }
    // The Linux anchors go by file name, so they are removed even when the CA file is gone; the helper
    // also computes a thumbprint, for which any certificate will do.
    const ca = cas[0] ?? { certPath: caCertPath(deps.dataDir), certPem: rootCertificates[0]! };
    return trustStoreRemoveCommands(osFamily(deps), ca, scope).map((command) => ({ kind: 'command', command }));
  }
  const family = osFamily(deps);
  return cas.flatMap((ca) => trustStoreRemoveCommands(family, ca, scope).map((command): Step => ({ kind: 'command', command })));
}

/**
 * Why an uninstall has no step. On Linux `--user` covers browser NSS databases only, whether or not the
 * CA file is still there; elsewhere the steps come from the CA files, so there is no CA.
 */
function nothingToRemove(deps: CaCommandDeps, scope: TrustStoreScope): string {
  if (deps.platform === 'linux' && scope === 'user') {
    const looked = [...CHROMIUM_NSS_DATABASES, ...FIREFOX_PROFILE_ROOTS.map((root) => `${root}/${FIREFOX_PROFILE_GLOB}`)].map((relative) => path.join(deps.homeDir, relative));
    return `No browser NSS database with certificates under ${deps.homeDir} (looked in ${looked.join(', ')}): nothing to remove for this user. ` +
      'To remove the CA from the system trust store, run `sudo bifrost-edge ca uninstall --system`.';
  }
  return `No Bifrost Edge CA in ${deps.dataDir}: nothing to remove.`;
}

function osFamily(deps: CaCommandDeps): TrustStorePlatform {
  const family = detectTrustStorePlatform(deps.platform, deps.osRelease);
  if (family) return family;
  if (deps.platform === 'linux') {
    throw new Error(
      `this Linux is neither Debian- nor RHEL-like (per /etc/os-release): add ${caCertPath(deps.dataDir)} to its CA store by hand; ` +
        '`bifrost-edge ca install --user` still covers browsers and `bifrost-edge ca env` CLI tools.',
    );
  }
  throw new Error(`no trust store support for ${deps.platform}: trust ${caCertPath(deps.dataDir)} by hand, and use \`bifrost-edge ca env\` for CLI tools.`);
}

function refuseWithoutAdmin(deps: CaCommandDeps, steps: Step[]): void {
  if (deps.isAdmin || !steps.some((step) => step.kind === 'command' && step.command.needsAdmin)) return;
  throw new Error(
    deps.platform === 'win32'
      ? 'needs administrator rights: re-run in a PowerShell opened with "Run as administrator" (or use --user for your account only).'
      : 'needs administrator rights: re-run with sudo (or use --user for your account only).',
  );
}

async function runOrExplain(deps: CaCommandDeps, command: TrustStoreCommand): Promise<void> {
  const result = await deps.run(command.argv);
  if (result.exitCode === 0) return;
  const program = command.argv[0]!;
  if (result.exitCode === 127) {
    const packageHint: Record<string, string> = {
      'update-ca-certificates': 'install the ca-certificates package (apt-get install ca-certificates)',
      'update-ca-trust': 'install the ca-certificates package (dnf install ca-certificates)',
    };
    throw new Error(`${program} was not found: ${packageHint[program] ?? `make sure ${program} is on PATH`}, then try again.`);
  }
  const macosHint = program === 'security' ? ' macOS asks an administrator to confirm trust changes: run this in a session where you can answer the prompt, or trust the CA with an MDM profile (`bifrost-edge installers mobileconfig --with-ca`).' : '';
  throw new Error(`${display(deps, command.argv)} failed (exit code ${result.exitCode}): ${oneLine(result.stderr || result.stdout)}.${macosHint}`);
}

function printSteps(deps: CaCommandDeps, steps: Step[], action: 'install' | 'uninstall', certPath: string): void {
  const lines: string[] = [];
  for (const step of steps) {
    if (step.kind === 'command') {
      if (step.command.needsAdmin && !deps.isAdmin) lines.push(comment(deps, 'needs administrator rights'));
      lines.push(display(deps, step.command.argv));
      continue;
    }
    const { dir, createIfMissing } = step.location;
    if (action === 'install') {
      if (createIfMissing) lines.push(comment(deps, `if ${dir} has no cert9.db yet:`), display(deps, ['mkdir', '-p', '-m', '0700', dir]), display(deps, ['certutil', ...nssCreateDatabaseArgs(dir)]));
      lines.push(comment(deps, 'replaces an older CA stored under the same name, if any:'), display(deps, ['certutil', ...nssDeleteCertificateArgs(dir, DEFAULT_NSS_NICKNAME)]));
      lines.push(display(deps, ['certutil', ...nssAddCertificateArgs(dir, certPath, DEFAULT_NSS_NICKNAME)]));
    } else {
      lines.push(display(deps, ['certutil', ...nssDeleteCertificateArgs(dir, DEFAULT_NSS_NICKNAME)]));
    }
  }
  deps.stdout(`${lines.join('\n')}\n`);
}

function display(deps: CaCommandDeps, argv: readonly string[]): string {
  return deps.platform === 'win32' ? renderPowerShellCommand(argv) : renderShellCommand(argv);
}

function comment(_deps: CaCommandDeps, text: string): string {
  return `# ${text}`;
}

function afterInstallHint(deps: CaCommandDeps, scope: TrustStoreScope): string {
  const env = deps.platform === 'win32' ? 'bifrost-edge ca env --shell powershell | Out-String | Invoke-Expression' : 'eval "$(bifrost-edge ca env)"';
  if (deps.platform === 'linux' && scope === 'system') {
    return `Trusted in the OS store. Browsers keep their own: run \`bifrost-edge ca install --user\` as yourself (without sudo). CLI tools: ${env}`;
  }
  if (deps.platform === 'linux') return `Browsers trust Edge after a restart. For the OS store: sudo bifrost-edge ca install --system. CLI tools: ${env}`;
  return `Trusted. CLI tools (Node, Python, git, curl) keep their own roots: ${env}`;
}

function missingCaUnderSudo(deps: CaCommandDeps): Error {
  return new Error(
    `there is no CA in ${deps.dataDir} yet, and one made now would belong to root: run \`bifrost-edge ca path\` as ${deps.sudoUser ?? 'yourself'} (without sudo) first, then re-run this command.`,
  );
}

async function currentAndPreviousCa(deps: CaCommandDeps): Promise<CaFiles[]> {
  const current = await deps.loadCa({ create: false });
  const previous = await readCaFile(`${caCertPath(deps.dataDir)}${PREVIOUS_CA_SUFFIX}`);
  return [current, previous].filter((ca): ca is CaFiles => ca !== undefined);
}

async function readCaFile(certPath: string): Promise<CaFiles | undefined> {
  try {
    return { certPath, certPem: await readFile(certPath, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${certPath} (${(error as NodeJS.ErrnoException).code ?? String(error)}): check its permissions.`);
  }
}

async function homeOf(user: string, platform: NodeJS.Platform, run: CommandRunner): Promise<string | undefined> {
  if (platform === 'darwin') {
    const result = await run(['dscl', '.', '-read', `/Users/${user}`, 'NFSHomeDirectory']);
    return result.exitCode === 0 ? /NFSHomeDirectory:\s*(.+)/.exec(result.stdout)?.[1]?.trim() : undefined;
  }
  const result = await run(['getent', 'passwd', user]);
  return result.exitCode === 0 ? result.stdout.trim().split(':')[5] : undefined;
}

function oneLine(text: string): string {
  return text.trim().replace(/\s+/g, ' ') || 'no output';
}
