import { ConfigError } from './load-config.js';
import type { ManagedSettings } from './managed-lock.js';
import { parseJsonText } from '../util/json-text.js';

/** Managed settings plus what to tell the reader when they are broken. */
export interface ManagedSource extends ManagedSettings {
  /** How to fix this source, appended to every error about it. */
  fix: string;
  /** Set for a JSON file, so the same file given with --config is recognized. */
  file?: string;
}

/**
 * Why a broken managed source stops Edge, said once for every error about one: falling back to
 * defaults would silently drop the company's policy.
 */
export const REFUSAL_NOTE = 'Edge does not start while its managed configuration is broken, so the company policy is never silently dropped.';

/**
 * Every managed source ends up as JSON text (the registry value, plutil's conversion, the file): one
 * parser for all of them, so each fails the same way and names its source.
 */
export function parseManagedJson(text: string, source: string, fix: string): ManagedSource {
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid JSON: ${(err as Error).message}. ${fix} ${REFUSAL_NOTE}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`${source} must hold a JSON object such as {"gateway":{"url":"https://bifrost.example.com"}}. ${fix} ${REFUSAL_NOTE}`);
  }
  return { values: json as Record<string, unknown>, source, fix };
}
