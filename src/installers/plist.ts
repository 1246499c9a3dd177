import { xmlEscape } from './quoting.js';

/** What an XML property list can hold. Buffers become <data>; plists have no null. */
export type PlistValue = string | number | boolean | Buffer | readonly PlistValue[] | { readonly [key: string]: PlistValue };

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

/** Serializes `root` as an XML property list (the .mobileconfig format), tab-indented like Apple's tools. */
export function renderPlist(root: PlistValue): string {
  return `${HEADER}${renderValue(root, 0, '')}</plist>\n`;
}

/**
 * Turns parsed JSON (a config file) into plist values. JSON null has no plist form, so it is refused
 * with the field's path rather than dropped, which would silently change what the setting means.
 */
export function jsonToPlist(value: unknown, path = '(top level)'): PlistValue {
  if (value === null || value === undefined) {
    throw new Error(`${path} is null, which a macOS profile cannot express: remove the field (to use the default) or give it a value.`);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item, index) => jsonToPlist(item, `${path}[${index}]`));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonToPlist(item, path === '(top level)' ? key : `${path}.${key}`)]));
  }
  throw new Error(`${path} has a ${typeof value} value, which a property list cannot hold.`);
}

function renderValue(value: PlistValue, depth: number, path: string): string {
  const indent = '\t'.repeat(depth);
  if (typeof value === 'string') return `${indent}<string>${xmlEscape(value)}</string>\n`;
  if (typeof value === 'boolean') return `${indent}<${value}/>\n`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path || 'value'} is ${value}, which a property list cannot hold.`);
    return Number.isInteger(value) ? `${indent}<integer>${value}</integer>\n` : `${indent}<real>${value}</real>\n`;
  }
  if (Buffer.isBuffer(value)) {
    // Base64 in 52-character lines, as Apple's tools write it.
    const lines = value.toString('base64').match(/.{1,52}/g) ?? [];
    return `${indent}<data>\n${lines.map((line) => `${indent}${line}\n`).join('')}${indent}</data>\n`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}<array/>\n`;
    const items = (value as readonly PlistValue[]).map((item, index) => renderValue(item, depth + 1, `${path}[${index}]`)).join('');
    return `${indent}<array>\n${items}${indent}</array>\n`;
  }
  const entries = Object.entries(value as { readonly [key: string]: PlistValue });
  if (entries.length === 0) return `${indent}<dict/>\n`;
  const body = entries
    .map(([key, item]) => `${indent}\t<key>${xmlEscape(key)}</key>\n${renderValue(item, depth + 1, path ? `${path}.${key}` : key)}`)
    .join('');
  return `${indent}<dict>\n${body}${indent}</dict>\n`;
}
