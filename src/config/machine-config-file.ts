import { ConfigError } from './load-config.js';
import { parseManagedJson, REFUSAL_NOTE, type ManagedSource } from './managed-source.js';

/**
 * The machine-wide JSON file (machineConfigPath): placed by an installer or MDM script where only
 * administrators can write. Missing means "not configured"; anything else that stops it being read is
 * an error, never a silent fall back to defaults.
 */
export function readMachineConfigFile(file: string, source: string, readFile: (file: string) => string): ManagedSource | undefined {
  const fix = `Fix ${file} (an installer or MDM script places it; \`bifrost-edge installers\` generates one) or remove it.`;
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EACCES' || code === 'EPERM' ? ' it must be readable by every user (mode 644)' : '';
    throw new ConfigError(`cannot read ${source} (${code ?? (err as Error).message}):${why || ' check the file'}. ${fix} ${REFUSAL_NOTE}`);
  }
  return { ...parseManagedJson(text, source, fix), file };
}
