/**
 * `bifrost-edge scan [--json] [--policy F | --config F]`: run the guardrails over a piece of text and show
 * what they see. The CLI reads stdin/files and the configuration and prints; this module only turns (text,
 * policy) into (exit code, output), so it is testable without a process. Exit 0 whenever the scan ran —
 * findings are results, not failures; exit 2 when the policy cannot be used. The output names the policy
 * that ran, since "no findings" means little without knowing which rules looked.
 */
import { AgentConfigSchema } from '../config/schema.js';
import { applyGuardrails } from './apply-guardrails.js';
import { compileGuardrailPolicy, type CompiledGuardrailPolicy } from './compile-policy.js';
import { unknownGuardrailFields } from './policy.js';
import { redactionLabel, redactSpans } from './redact-text.js';

/** Where the policy came from; without it a given `policy` is a policy file's and none is the built-in one. */
export type ScanPolicySource =
  | { kind: 'policy-file'; file: string }
  /** The configuration's guardrails, as loaded for `run`; `origin` says which files and sources that was. */
  | { kind: 'configuration'; origin: string; controlUrl?: string }
  /** The guardrails of the policy bundle the configuration's policyFile names, which the agent applies. */
  | { kind: 'policy-bundle'; file: string; controlUrl?: string };

export interface ScanCommandInput {
  /** The text to scan. */
  input: string;
  /** Print one JSON object instead of human-readable text. */
  json: boolean;
  /**
   * Policy: the policy file's text (JSON), an already parsed object, or the configuration's compiled
   * guardrails. Built-in policy when absent.
   */
  policy?: unknown;
  source?: ScanPolicySource;
}

export interface ScanCommandOutput {
  exitCode: number;
  stdout: string;
}

export const SCAN_EXIT_OK = 0;
export const SCAN_EXIT_BAD_POLICY = 2;

interface ReportedFinding {
  type: string;
  ruleId: string;
  start: number;
  end: number;
  line: number;
  column: number;
  confidence: number;
  action: string;
}

export function runScanCommand({ input, json, policy, source }: ScanCommandInput): ScanCommandOutput {
  const compiled = isCompiledPolicy(policy) ? { ok: true as const, policy } : compilePolicyDocument(policy, source);
  if (!compiled.ok) {
    const stdout = json
      ? `${JSON.stringify({ error: 'invalid guardrail policy', errors: compiled.errors }, null, 2)}\n`
      : `bifrost-edge scan: the guardrail policy cannot be used:\n${compiled.errors.map((e) => `  - ${e}`).join('\n')}\n` +
        'Fix the policy file (or leave out --policy to use the configuration\'s guardrails) and run again.\n';
    return { exitCode: SCAN_EXIT_BAD_POLICY, stdout };
  }
  const usedPolicy = describePolicy(compiled.policy, source, policy !== undefined && policy !== null);

  const result = applyGuardrails([{ path: [], text: input, kind: 'input' }], input, compiled.policy);
  // What the proxy would send if every finding were redacted, regardless of each type's action.
  const redactedText = result.oversize ? input : redactSpans(input, result.findings.map((f) => ({ ...f, type: redactionLabel(f) })));
  const lineStarts = lineStartOffsets(input);
  const findings: ReportedFinding[] = result.findings.map((f) => ({
    type: f.type,
    ruleId: f.ruleId,
    start: f.start,
    end: f.end,
    ...lineAndColumn(lineStarts, f.start),
    confidence: f.confidence,
    action: f.action,
  }));

  if (json) {
    const report = {
      decision: result.decision,
      findings,
      redactedText,
      inspectedBytes: result.inspectedBytes,
      oversize: result.oversize ?? false,
      policy: usedPolicy.json,
      ...(result.blockError ? { message: result.blockError.message } : result.warning ? { message: result.warning.message } : {}),
    };
    return { exitCode: SCAN_EXIT_OK, stdout: `${JSON.stringify(report, null, 2)}\n` };
  }
  return {
    exitCode: SCAN_EXIT_OK,
    stdout: formatText(findings, result.decision, redactedText, result.oversize ?? false, result.inspectedBytes, compiled.policy.policy.maxInspectBytes, usedPolicy.text),
  };
}

type PolicyCompilation = { ok: true; policy: CompiledGuardrailPolicy } | { ok: false; errors: string[] };

function compilePolicyDocument(policy: unknown, source: ScanPolicySource | undefined): PolicyCompilation {
  const parsed = parsePolicyDocument(policy);
  if (!parsed.ok) return { ok: false, errors: [parsed.error] };
  const misplaced = misplacedFields(parsed.value, source);
  return misplaced ? { ok: false, errors: [misplaced] } : compileGuardrailPolicy(parsed.value);
}

type PolicyDocument = { ok: true; value: unknown } | { ok: false; error: string };

function parsePolicyDocument(policy: unknown): PolicyDocument {
  if (policy === undefined || policy === null) return { ok: true, value: {} };
  if (typeof policy !== 'string') return { ok: true, value: policy };
  if (policy.trim() === '') return { ok: false, error: 'policy file is empty; write a JSON object such as {"pii": ["email"]}' };
  try {
    return { ok: true, value: JSON.parse(policy) as unknown };
  } catch (error) {
    return { ok: false, error: `policy file is not valid JSON (${(error as Error).message})` };
  }
}

/**
 * Fields a guardrail policy does not have. The schema ignores them (a bundle from a newer Edge Control),
 * but a file someone hands to scan was just written: a misspelt field would scan with a protection off,
 * and an agent configuration would scan with none of its guardrails and report "allow".
 */
function misplacedFields(document: unknown, source: ScanPolicySource | undefined): string | undefined {
  const unknown = unknownGuardrailFields(document);
  if (unknown.length === 0) return undefined;
  const file = source?.kind === 'policy-file' ? source.file : undefined;
  if (unknown.some((key) => Object.hasOwn(AgentConfigSchema.shape, key))) {
    const name = file ?? 'the policy';
    return `${name} is an agent configuration (it has ${unknown.map((k) => JSON.stringify(k)).join(', ')}), not a guardrail policy. ` +
      `To scan with the guardrails the agent would enforce from it, run \`bifrost-edge scan --config ${file ?? 'FILE'}\`; ` +
      'or give --policy a file holding only the "guardrails" object.';
  }
  return `policy has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; remove them or check their spelling`;
}

function isCompiledPolicy(policy: unknown): policy is CompiledGuardrailPolicy {
  return typeof policy === 'object' && policy !== null && (policy as { kind?: unknown }).kind === 'compiled-guardrail-policy';
}

const BUILT_IN_POLICY = JSON.stringify((compileGuardrailPolicy({}) as { ok: true; policy: CompiledGuardrailPolicy }).policy.policy);

interface UsedPolicy {
  text: string;
  json: { source: 'built-in' | 'configuration' | 'policy-file' | 'policy-bundle'; file?: string; configuration?: string };
}

/** Which policy ran, for the output. A configuration that sets no guardrails (or only the defaults) runs the built-in policy. */
function describePolicy(compiled: CompiledGuardrailPolicy, source: ScanPolicySource | undefined, given: boolean): UsedPolicy {
  if (source?.kind === 'policy-file') return { text: `the policy file ${source.file}`, json: { source: 'policy-file', file: source.file } };
  // The agent's policy holder prefers a bundle's guardrails; scan cannot see Edge Control's bundle, so it says so.
  const bundleNote = source?.controlUrl ? `; a running agent enrolled with Edge Control (${source.controlUrl}) uses its policy bundle's guardrails instead, when the bundle has any` : '';
  if (source?.kind === 'policy-bundle') {
    return { text: `the guardrails of the policy bundle ${source.file} (the configuration's policyFile)${bundleNote}`, json: { source: 'policy-bundle', file: source.file } };
  }
  if (source?.kind === 'configuration') {
    return JSON.stringify(compiled.policy) === BUILT_IN_POLICY
      ? { text: `the built-in policy (the configuration changes no guardrail setting: ${source.origin})${bundleNote}`, json: { source: 'built-in', configuration: source.origin } }
      : { text: `the guardrails of the configuration (${source.origin})${bundleNote}`, json: { source: 'configuration', configuration: source.origin } };
  }
  return given ? { text: 'the policy given', json: { source: 'policy-file' } } : { text: 'the built-in policy', json: { source: 'built-in' } };
}

function formatText(
  findings: ReportedFinding[],
  decision: string,
  redactedText: string,
  oversize: boolean,
  bytes: number,
  limit: number,
  policy: string,
): string {
  const lines: string[] = [];
  if (oversize) lines.push(`Input is ${bytes} bytes, over maxInspectBytes (${limit}): not inspected. Policy decision: ${decision}.`);
  else if (findings.length === 0) lines.push(`No findings. Policy decision: ${decision}.`);
  else {
    lines.push(`${findings.length} finding${findings.length === 1 ? '' : 's'}. Policy decision: ${decision}.`);
    for (const f of findings) {
      lines.push(
        `  ${`${f.line}:${f.column}`.padEnd(8)} ${f.type.padEnd(14)} ${f.ruleId.padEnd(34)} ${f.action.padEnd(6)} ` +
          `chars ${f.start}-${f.end}, confidence ${f.confidence.toFixed(2)}`,
      );
    }
  }
  lines.push(`Policy: ${policy}.`, '', 'Redacted text:', redactedText);
  return `${lines.join('\n')}\n`;
}

function lineStartOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line and column of an offset. */
function lineAndColumn(lineStarts: number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - lineStarts[low]! + 1 };
}
