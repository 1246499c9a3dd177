/**
 * `bifrost-edge scan [--json] [--policy F]`: run the guardrails over a piece of text and show what they see.
 * The CLI reads stdin/files and prints; this module only turns (text, policy) into (exit code, output), so
 * it is testable without a process. Exit 0 whenever the scan ran — findings are results, not failures;
 * exit 2 when the policy cannot be used.
 */
import { applyGuardrails } from './apply-guardrails.js';
import { compileGuardrailPolicy } from './compile-policy.js';
import { redactionLabel, redactSpans } from './redact-text.js';

export interface ScanCommandInput {
  /** The text to scan. */
  input: string;
  /** Print one JSON object instead of human-readable text. */
  json: boolean;
  /** Policy: the policy file's text (JSON), or an already parsed object. Default policy when absent. */
  policy?: unknown;
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

export function runScanCommand({ input, json, policy }: ScanCommandInput): ScanCommandOutput {
  const parsed = parsePolicyDocument(policy);
  const compiled = parsed.ok ? compileGuardrailPolicy(parsed.value) : { ok: false as const, errors: [parsed.error] };
  if (!compiled.ok) {
    const stdout = json
      ? `${JSON.stringify({ error: 'invalid guardrail policy', errors: compiled.errors }, null, 2)}\n`
      : `bifrost-edge scan: the guardrail policy cannot be used:\n${compiled.errors.map((e) => `  - ${e}`).join('\n')}\n` +
        'Fix the policy file (or leave out --policy to use the default policy) and run again.\n';
    return { exitCode: SCAN_EXIT_BAD_POLICY, stdout };
  }

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
      ...(result.blockError ? { message: result.blockError.message } : result.warning ? { message: result.warning.message } : {}),
    };
    return { exitCode: SCAN_EXIT_OK, stdout: `${JSON.stringify(report, null, 2)}\n` };
  }
  return { exitCode: SCAN_EXIT_OK, stdout: formatText(findings, result.decision, redactedText, result.oversize ?? false, result.inspectedBytes, compiled.policy.policy.maxInspectBytes) };
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

function formatText(
  findings: ReportedFinding[],
  decision: string,
  redactedText: string,
  oversize: boolean,
  bytes: number,
  limit: number,
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
  lines.push('', 'Redacted text:', redactedText);
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
