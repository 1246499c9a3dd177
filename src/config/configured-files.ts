import fs from 'node:fs';
import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import { readPolicyFile } from '../policy/policy-file.js';
import { ConfigError } from './load-config.js';
import type { AgentConfig } from './schema.js';

/**
 * Files the configuration points at, read when the agent starts. One that is missing or broken is a
 * configuration error (ConfigError: the CLI exits 2, "bad usage or configuration"), naming the setting,
 * the file and what to do, wherever the setting came from (config file, managed configuration, flag).
 */

const RELATIVE_NOTE = 'a relative path counts from the folder of the config file that sets it';

/** The policy bundle `policyFile` names. */
export function readConfiguredPolicyFile(file: string): PolicyBundle {
  try {
    return readPolicyFile(file);
  } catch (err) {
    throw new ConfigError(`policyFile: ${(err as Error).message}\nFix that file, or point policyFile at a policy bundle file (JSON, schema bifrost-edge.policy/v1; ${RELATIVE_NOTE}), or remove policyFile.`);
  }
}

/** The PEM text of the extra CAs to trust: gateway.caFile, then upstream.caFile. */
export function readConfiguredCaFiles(config: Pick<AgentConfig, 'gateway' | 'upstream'>): string[] {
  const files = [
    { setting: 'gateway.caFile', file: config.gateway?.caFile },
    { setting: 'upstream.caFile', file: config.upstream.caFile },
  ];
  return files.flatMap(({ setting, file }) => (file === undefined ? [] : [readCaFile(setting, file)]));
}

const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/;

function readCaFile(setting: string, file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`${setting}: cannot read the CA file ${file} (${code}). Point ${setting} at the PEM file of the CA to trust (${RELATIVE_NOTE}), or remove ${setting}.`);
  }
  // OpenSSL's "TRUSTED CERTIFICATE" and the older "X509 CERTIFICATE" labels are certificates to Node's TLS too.
  if (!PEM_CERTIFICATE.test(text)) {
    throw new ConfigError(`${setting}: ${file} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line). Point ${setting} at the CA certificate in PEM form (convert a DER .cer with \`openssl x509 -inform der -in ca.cer -out ca.pem\`).`);
  }
  return text;
}
