import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InstallerConfigError, readInstallerSettings, type InstallerSettings } from './installer-settings.js';
import { linuxInstallerFiles } from './linux.js';
import { macosPostinstallScript } from './macos-postinstall.js';
import { caTrustProfile, edgeProfile } from './mobileconfig.js';
import { windowsInstallerFiles } from './windows.js';

/**
 * `bifrost-edge installers <mobileconfig|windows|linux|all> [--config F] [--out DIR] …`: writes the files an
 * MDM or configuration-management tool deploys. Output is deterministic — the same input gives the
 * same bytes — so the examples in installers/examples are regenerated and checked, never hand-edited.
 */

export const INSTALLER_TARGETS = ['mobileconfig', 'windows', 'linux'] as const;
export type InstallerTarget = (typeof INSTALLER_TARGETS)[number];

export const INSTALLERS_USAGE = `Usage: bifrost-edge installers <mobileconfig|windows|linux|all> [options]

Writes deployment files for MDM / configuration management into --out (one folder per platform).
  --config F         Edge configuration JSON every device gets (gateway, auth, control, policyFile…)
  --out DIR          output folder (default: ./bifrost-edge-installers)
  --organization N   organization name shown in profiles (default: Bifrost Edge)
  --identifier ID    reverse-DNS prefix of profile identifiers (default: com.bifrost.edge.profile)
  --with-ca PATH     mobileconfig: also write a per-device profile trusting this CA (bifrost-edge ca path)
  --package FILE     windows: MSI or NSIS installer file name next to install.ps1 (default: Bifrost-Edge-Setup.exe)
  --bin PATH         macOS/Linux: where the package installs the bifrost-edge CLI
`;

/** A generated file, relative to the output folder. */
export interface GeneratedFile {
  path: string;
  contents: string;
  executable?: boolean;
}

export interface GenerateOptions {
  /** PEM of this device's CA, for the per-device macOS profile. */
  caPem?: string;
  packageFile?: string;
  cliPath?: string;
}

/** Everything `target` produces, in memory (what the command writes and the example test compares). */
export function generateInstallerFiles(target: InstallerTarget, settings: InstallerSettings, options: GenerateOptions = {}): GeneratedFile[] {
  const cli = options.cliPath !== undefined ? { cliPath: options.cliPath } : {};
  switch (target) {
    case 'mobileconfig': {
      const profile = edgeProfile(settings);
      const files: GeneratedFile[] = [
        { path: `macos/${profile.fileName}`, contents: profile.contents },
        { path: 'macos/postinstall', contents: macosPostinstallScript(cli), executable: true },
      ];
      if (options.caPem !== undefined) {
        const caProfile = caTrustProfile(options.caPem, settings);
        files.push({ path: `macos/${caProfile.fileName}`, contents: caProfile.contents });
      }
      return files;
    }
    case 'windows':
      return Object.entries(windowsInstallerFiles(settings, options.packageFile !== undefined ? { packageFile: options.packageFile } : {})).map(([name, contents]) => ({ path: `windows/${name}`, contents }));
    case 'linux':
      return Object.entries(linuxInstallerFiles(settings, cli)).map(([name, contents]) => ({ path: `linux/${name}`, contents, executable: name.endsWith('.sh') && name !== 'bifrost-edge.sh' }));
  }
}

export interface InstallersCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: InstallersCommandIo = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };

/** Entry point for the CLI. Returns the exit code: 0 written, 1 failed, 2 usage error. */
export async function runInstallersCommand(args: string[], io: InstallersCommandIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        organization: { type: 'string' },
        identifier: { type: 'string' },
        'with-ca': { type: 'string' },
        package: { type: 'string' },
        bin: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr(`bifrost-edge installers: ${(error as Error).message}\n\n${INSTALLERS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(INSTALLERS_USAGE);
    return 0;
  }
  const [target, ...extra] = positionals;
  const targets = target === 'all' ? [...INSTALLER_TARGETS] : INSTALLER_TARGETS.filter((known) => known === target);
  if (targets.length === 0 || extra.length > 0) {
    io.stderr(`bifrost-edge installers: ${target === undefined ? 'name a platform' : extra.length > 0 ? `unexpected argument "${extra[0]}"` : `unknown platform "${target}"`}\n\n${INSTALLERS_USAGE}`);
    return 2;
  }
  if (values['with-ca'] !== undefined && !targets.includes('mobileconfig')) {
    io.stderr('bifrost-edge installers: --with-ca only applies to mobileconfig.\n');
    return 2;
  }
  try {
    const settings = readInstallerSettings(values.config, {
      ...(values.organization !== undefined ? { organization: values.organization } : {}),
      ...(values.identifier !== undefined ? { identifierPrefix: values.identifier } : {}),
    });
    const options: GenerateOptions = {
      ...(values.package !== undefined ? { packageFile: values.package } : {}),
      ...(values.bin !== undefined ? { cliPath: values.bin } : {}),
      ...(values['with-ca'] !== undefined ? { caPem: await readCa(values['with-ca']) } : {}),
    };
    const outDir = path.resolve(values.out ?? 'bifrost-edge-installers');
    for (const file of targets.flatMap((each) => generateInstallerFiles(each, settings, options))) {
      const target = path.join(outDir, ...file.path.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.contents);
      await chmod(target, file.executable ? 0o755 : 0o644);
      io.stdout(`${target}\n`);
    }
    return 0;
  } catch (error) {
    io.stderr(`bifrost-edge installers: ${(error as Error).message}\n`);
    return error instanceof InstallerConfigError ? 2 : 1;
  }
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --with-ca ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}): pass the path printed by \`bifrost-edge ca path\`.`);
  }
}
