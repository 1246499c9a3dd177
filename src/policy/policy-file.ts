import fs from 'node:fs';
import { PolicyBundleSchema, type PolicyBundle } from '../control/protocol/policy-bundle.js';
import { parseJsonText } from '../util/json-text.js';

/**
 * Reads a policy bundle an admin or MDM profile placed on disk (no signature: the file is as
 * trusted as the configuration that names it). Errors name the file, the field and the fix.
 */
export function readPolicyFile(file: string): PolicyBundle {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read policy file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check policyFile in the configuration.`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (err) {
    throw new Error(`policy file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PolicyBundleSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `- ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
    throw new Error(`policy file ${file} is not a valid policy bundle:\n${issues}`);
  }
  return parsed.data;
}
