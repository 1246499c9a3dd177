import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { AgentConfigSchema, type AgentConfig, type AgentConfigInput } from './schema.js';
import { defaultDataDir } from './data-dir.js';
import { compileGuardrailPolicy } from '../guardrails/compile-policy.js';
import { applyManagedSettings, dottedKeys, type IgnoredSetting, type ManagedSettings } from './managed-lock.js';
import { parseJsonText } from '../util/json-text.js';
import { folderOf, resolvePathSettings } from './path-settings.js';

export type { IgnoredSetting, ManagedSettings } from './managed-lock.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment variables that override the file, each mapped to the config field it sets. */
export const ENV_OVERRIDES: Array<{ env: string; path: string[]; type: 'string' | 'number' }> = [
  { env: 'BIFROST_EDGE_MODE', path: ['mode'], type: 'string' },
  { env: 'BIFROST_EDGE_DATA_DIR', path: ['dataDir'], type: 'string' },
  { env: 'BIFROST_EDGE_LOG_LEVEL', path: ['logLevel'], type: 'string' },
  { env: 'BIFROST_EDGE_PORT', path: ['proxy', 'port'], type: 'number' },
  { env: 'BIFROST_EDGE_GATEWAY_URL', path: ['gateway', 'url'], type: 'string' },
  { env: 'BIFROST_EDGE_VIRTUAL_KEY', path: ['gateway', 'virtualKey'], type: 'string' },
  { env: 'BIFROST_EDGE_USER', path: ['identity', 'user'], type: 'string' },
];

export interface LoadConfigOptions {
  /** Path of the JSON config file; missing means defaults only. Relative paths in it count from its folder. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest-precedence values, from CLI flags; relative paths in them count from the current directory. */
  overrides?: AgentConfigInput;
  /**
   * Settings IT manages on this machine (see managed-config-sources.ts). They win over the file,
   * environment variables and flags: what those say about a managed field is dropped and reported.
   */
  managed?: ManagedSettings;
  /** Told about each dropped setting, so the caller can log it once its logger exists. */
  onIgnored?: (ignored: IgnoredSetting) => void;
}

/**
 * Builds the agent configuration from (lowest to highest precedence) defaults, the JSON file,
 * environment variables, CLI flags and, locked above them all, the managed settings. Errors name the
 * source, the field and how to fix it.
 */
export function loadConfig(options: LoadConfigOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  let raw: Record<string, unknown> = {};
  if (options.file) {
    raw = resolvePathSettings(readConfigFile(options.file), folderOf(options.file));
    for (const key of dottedKeys(raw)) sources.set(key, `config file ${options.file}`);
  }
  for (const o of ENV_OVERRIDES) {
    const value = env[o.env];
    if (value === undefined || value === '') continue;
    let parsed: unknown = value;
    if (o.type === 'number') {
      parsed = Number(value);
      if (!Number.isFinite(parsed)) throw new ConfigError(`${o.env}=${JSON.stringify(value)} is not a number. Set it to a whole number, e.g. ${o.env}=8790.`);
    }
    setPath(raw, o.path, parsed);
    sources.set(o.path.join('.'), `environment variable ${o.env}`);
  }
  if (options.overrides) {
    mergeInto(raw, options.overrides as Record<string, unknown>);
    for (const key of dottedKeys(options.overrides as Record<string, unknown>)) sources.set(key, 'command-line option');
  }
  if (options.managed) {
    for (const ignored of applyManagedSettings(raw, sources, options.managed)) options.onIgnored?.(ignored);
  }
  // What is still relative came from a flag or an environment variable: it counts from the current directory.
  const result = AgentConfigSchema.safeParse(resolvePathSettings(raw, process.cwd()));
  if (!result.success) throw new ConfigError(describeIssues(result.error, sources, raw));
  const parsed = result.data;
  const mode = parsed.mode ?? (parsed.gateway ? 'gateway' : 'local');
  if ((mode === 'gateway' || mode === 'passthrough') && !parsed.gateway) {
    throw new ConfigError(`mode is "${mode}" but no gateway is configured. Set gateway.url in the config file or BIFROST_EDGE_GATEWAY_URL, or use mode "local".`);
  }
  const dataDir = path.resolve(parsed.dataDir ?? defaultDataDir(process.platform, env));
  const guardrails = compileGuardrailPolicy(parsed.guardrails ?? {});
  if (!guardrails.ok) {
    const source = sources.get('guardrails') ?? 'configuration';
    throw new ConfigError(`invalid guardrail policy (from ${source}):\n${guardrails.errors.map((e) => `- guardrails: ${e}`).join('\n')}`);
  }
  return { ...parsed, mode, dataDir, guardrails: guardrails.policy };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${file} (${code ?? String(err)}). Check the path given to --config.`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}. Fix the syntax (a JSON object is expected).`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`config file ${file} must contain a JSON object, e.g. {"mode":"local"}.`);
  }
  return json as Record<string, unknown>;
}

function describeIssues(error: z.ZodError, sources: Map<string, string>, raw: Record<string, unknown>): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path.join('.') || '(top level)';
    if (field === 'gateway.url' && (raw.gateway as Record<string, unknown> | undefined)?.url === undefined) return missingGatewayUrl(sources);
    // An unknown key came from wherever that key was written, which is what the reader has to fix.
    const unknownKey = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? sources.get([...issue.path, issue.keys[0]].join('.')) : undefined;
    const source = unknownKey ?? sources.get(field) ?? nearestSource(field, sources) ?? 'configuration';
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `has unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; remove them or check their spelling`;
    }
    return `- ${field} (from ${source}): ${message}`;
  });
  return `invalid configuration:\n${lines.join('\n')}`;
}

function nearestSource(field: string, sources: Map<string, string>): string | undefined {
  for (const [key, source] of sources) if (key.startsWith(field + '.') || field.startsWith(key + '.')) return source;
  return undefined;
}

const ENV_PREFIX = 'environment variable ';

/**
 * Some gateway setting was given without gateway.url (typically BIFROST_EDGE_VIRTUAL_KEY alone). The
 * schema would only say "expected string, received undefined" about a field nobody wrote: name the
 * setting that was given, where from, and the ways to give the URL.
 */
function missingGatewayUrl(sources: Map<string, string>): string {
  const setting = sources.has('gateway.virtualKey') ? 'gateway.virtualKey' : ([...sources.keys()].find((key) => key.startsWith('gateway.')) ?? 'gateway');
  const source = sources.get(setting) ?? 'configuration';
  const urlEnv = ENV_OVERRIDES.find((o) => o.path.join('.') === 'gateway.url')!.env;
  const what = setting === 'gateway.virtualKey'
    ? 'a virtual key (gateway.virtualKey) needs the URL of the Bifrost gateway it is for'
    : `${setting} is set, but the gateway settings need the URL of the Bifrost gateway`;
  const withdraw = source.startsWith(ENV_PREFIX) ? `unset ${source.slice(ENV_PREFIX.length)}` : `remove ${setting} from ${source}`;
  return `- gateway.url (from ${source}): missing: ${what}. Give the URL with --gateway URL, ${urlEnv} or gateway.url in the config file, or ${withdraw} to run in local mode.`;
}


function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const existing = target[k];
      const node = existing && typeof existing === 'object' && !Array.isArray(existing) ? existing : (target[k] = {});
      mergeInto(node as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
}
