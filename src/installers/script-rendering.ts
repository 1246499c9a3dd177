import { clientEnvironment } from '../ca/client-environment.js';
import { posixShellQuote, powerShellQuote } from './quoting.js';

/**
 * The CA helpers (trustStoreInstallCommands, nssInstallCommand, clientEnvironment) build commands and
 * variables from concrete paths. Installer scripts only learn those paths on the device, so they call
 * the helpers with placeholders and render each placeholder as a script variable. That keeps one
 * source for every command an installer runs.
 */

/** A stand-in for a value known only on the device; NUL can never occur in a real path or argument. */
export function placeholder(name: string): string {
  return `\u0000${name}\u0000`;
}

/** Placeholder → variable name (without $), e.g. { [placeholder('ca')]: 'ca_path' }. */
export type ScriptVariables = Readonly<Record<string, string>>;

/** One POSIX shell command line; placeholders become "$variable" (quoted, so spaces survive). */
export function renderShellCommand(argv: readonly string[], variables: ScriptVariables = {}): string {
  return argv.map((arg) => renderShellWord(arg, variables)).join(' ');
}

/** A POSIX shell word; placeholders inside it become "${variable}". */
export function renderShellWord(arg: string, variables: ScriptVariables = {}): string {
  return splitOnPlaceholders(arg, variables)
    .map((part) => (part.variable !== undefined ? `"\${${part.variable}}"` : posixShellQuote(part.text)))
    .join('');
}

/** One PowerShell command (`& 'program' 'arg' $variable`); placeholders become $variable. */
export function renderPowerShellCommand(argv: readonly string[], variables: ScriptVariables = {}): string {
  return `& ${argv.map((arg) => renderPowerShellWord(arg, variables)).join(' ')}`;
}

export function renderPowerShellWord(arg: string, variables: ScriptVariables = {}): string {
  const parts = splitOnPlaceholders(arg, variables).map((part) => (part.variable !== undefined ? `$${part.variable}` : powerShellQuote(part.text)));
  return parts.length === 1 ? parts[0]! : `(${parts.join(' + ')})`;
}

/** Where a client-environment variable points: the CA, the CA bundle, or a fixed value (proxy URL, no-proxy list). */
export type ClientEnvironmentValue = { kind: 'ca' } | { kind: 'bundle' } | { kind: 'literal'; value: string };

/**
 * clientEnvironment's variables with their file values left open, so each script can spell the per-user
 * path its own way ($HOME/…, %ProgramData%\…) while the list of variables stays in src/ca.
 */
export function clientEnvironmentTemplate(proxyUrl: string): Array<{ name: string; value: ClientEnvironmentValue }> {
  const ca = placeholder('ca');
  const bundle = placeholder('bundle');
  return Object.entries(clientEnvironment(ca, proxyUrl, { caBundlePath: bundle })).map(([name, value]) => {
    if (value === ca) return { name, value: { kind: 'ca' } };
    if (value === bundle) return { name, value: { kind: 'bundle' } };
    if (value.includes('\u0000')) throw new Error(`clientEnvironment builds ${name} from a path in a way the installers cannot render; update script-rendering.ts.`);
    return { name, value: { kind: 'literal', value } };
  });
}

interface Part {
  text: string;
  variable?: string;
}

function splitOnPlaceholders(arg: string, variables: ScriptVariables): Part[] {
  const parts: Part[] = [];
  let rest = arg;
  while (rest.length > 0) {
    let earliest: { index: number; key: string } | undefined;
    for (const key of Object.keys(variables)) {
      const index = rest.indexOf(key);
      if (index >= 0 && (earliest === undefined || index < earliest.index)) earliest = { index, key };
    }
    if (earliest === undefined) {
      parts.push({ text: rest });
      break;
    }
    if (earliest.index > 0) parts.push({ text: rest.slice(0, earliest.index) });
    parts.push({ text: earliest.key, variable: variables[earliest.key]! });
    rest = rest.slice(earliest.index + earliest.key.length);
  }
  if (parts.length === 0) parts.push({ text: '' });
  const unknown = parts.find((part) => part.variable === undefined && part.text.includes('\u0000'));
  if (unknown) throw new Error(`a command argument holds a placeholder with no script variable: ${JSON.stringify(unknown.text)}`);
  return parts;
}
