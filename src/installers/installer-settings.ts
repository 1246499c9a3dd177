import fs from 'node:fs';
import path from 'node:path';
import { AgentConfigSchema } from '../config/schema.js';
import { relativePathSettings } from '../config/path-settings.js';
import { compileGuardrailPolicy } from '../guardrails/compile-policy.js';
import { parseJsonText } from '../util/json-text.js';

/** Path of the PAC file on the Edge proxy (served by src/proxy/local-endpoints.ts). */
export const PAC_PATH = '/proxy.pac';

export const DEFAULT_ORGANIZATION = 'Bifrost Edge';
/** Reverse-DNS prefix of profile identifiers; organizations normally use their own (com.example.bifrost-edge). */
export const DEFAULT_IDENTIFIER_PREFIX = 'com.bifrost.edge.profile';

/**
 * Fields that describe one employee or one laptop. An installer's configuration is shared by every
 * device it reaches, and is readable by every local user (profiles, HKLM, /etc), so these are refused
 * there: a virtual key would leak and make everyone the same person.
 */
const PER_DEVICE_FIELDS: ReadonlyArray<{ path: readonly string[]; fix: string }> = [
  { path: ['gateway', 'virtualKey'], fix: 'employees get their key by signing in (auth) or from Edge Control; a shared key would be readable by every local user' },
  { path: ['identity', 'user'], fix: 'the user comes from sign-in on each device' },
  { path: ['identity', 'device'], fix: 'each device names itself (its host name)' },
  { path: ['dataDir'], fix: 'the data dir is per user and follows the OS convention' },
];

export interface InstallerSettings {
  /** The Edge configuration as the admin wrote it (validated, defaults not filled in), for every device. */
  edgeConfig: Record<string, unknown>;
  /** Shown in profile and task names. */
  organization: string;
  identifierPrefix: string;
  /** http://127.0.0.1:8790 — where CLI tools send HTTPS. */
  proxyUrl: string;
  /** http://127.0.0.1:8790/proxy.pac — what system proxy settings point at. */
  pacUrl: string;
}

export interface InstallerSettingsOptions {
  organization?: string;
  identifierPrefix?: string;
}

export class InstallerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallerConfigError';
  }
}

/**
 * Validates an Edge configuration meant for every device and derives what the installers need from it.
 * Validation uses the agent's own schema, so a profile can never carry a setting the agent refuses.
 */
export function installerSettings(edgeConfig: unknown, options: InstallerSettingsOptions = {}, source = 'the installer configuration'): InstallerSettings {
  if (edgeConfig === null || typeof edgeConfig !== 'object' || Array.isArray(edgeConfig)) {
    throw new InstallerConfigError(`${source} must be a JSON object such as {"gateway":{"url":"https://bifrost.example.com"}}.`);
  }
  const config = edgeConfig as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of PER_DEVICE_FIELDS) {
    if (valueAt(config, field.path) !== undefined) problems.push(`- ${field.path.join('.')}: remove it from ${source}: ${field.fix}.`);
  }
  for (const { field, value } of relativePathSettings(config, isAbsoluteOnSomeDevice)) {
    if (PER_DEVICE_FIELDS.some((perDevice) => perDevice.path.join('.') === field)) continue;
    problems.push(`- ${field}: ${JSON.stringify(value)} is a relative path, but devices read this configuration from another folder (/etc/bifrost-edge, a profile, the registry), where it would name another file or none; give the absolute path the file has on every device.`);
  }
  const parsed = AgentConfigSchema.safeParse(config);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`- ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  } else {
    const guardrails = compileGuardrailPolicy(parsed.data.guardrails ?? {});
    if (!guardrails.ok) problems.push(...guardrails.errors.map((error) => `- guardrails: ${error}`));
    if (parsed.data.proxy.port === 0) problems.push('- proxy.port: 0 (a random port) cannot be written into a PAC URL; use a fixed port such as 8790.');
  }
  if (problems.length > 0) throw new InstallerConfigError(`invalid ${source}:\n${problems.join('\n')}`);

  const organization = options.organization ?? DEFAULT_ORGANIZATION;
  if (organization.trim().length === 0) throw new InstallerConfigError('--organization is empty: give the name employees should see, e.g. "Example Corp".');
  const identifierPrefix = options.identifierPrefix ?? DEFAULT_IDENTIFIER_PREFIX;
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(identifierPrefix)) {
    throw new InstallerConfigError(`--identifier ${JSON.stringify(identifierPrefix)} is not a reverse-DNS identifier: use something like com.example.bifrost-edge.`);
  }
  const { host, port } = parsed.success ? parsed.data.proxy : { host: '127.0.0.1', port: 8790 };
  const proxyUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { edgeConfig: config, organization, identifierPrefix, proxyUrl, pacUrl: `${proxyUrl}${PAC_PATH}` };
}

/** Reads a JSON config file for `installerSettings`; no file means an empty configuration (local mode). */
export function readInstallerSettings(file: string | undefined, options: InstallerSettingsOptions = {}): InstallerSettings {
  if (file === undefined) return installerSettings({}, options);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new InstallerConfigError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}): check the path given to --config.`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (error) {
    throw new InstallerConfigError(`${file} is not valid JSON (${(error as Error).message}): fix the syntax; a JSON object is expected.`);
  }
  return installerSettings(json, options, `config file ${file}`);
}

/** Installers target macOS and Linux (/etc/…) and Windows (C:\…): an absolute path on either is fine. */
function isAbsoluteOnSomeDevice(value: string): boolean {
  return path.posix.isAbsolute(value) || path.win32.isAbsolute(value);
}

function valueAt(object: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = object;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
