import { edgeError, type EdgeError } from '../edge-error.js';
import { applyGuardrails, describeFindings, GUARDRAIL_BLOCK_STATUS } from '../guardrails/apply-guardrails.js';
import type { CompiledGuardrailPolicy } from '../guardrails/compile-policy.js';
import { BodyShapeError, isJsonObject } from '../providers/body-shape.js';
import { newExtraction } from '../providers/extraction.js';
import { addToolDefinitionTexts, MCP_TOOL_TEXT_FIELDS } from '../providers/tool-definition-texts.js';
import { jsonPathLabel } from '../proxy/inspectors/guardrails.js';
import type { InspectionNotes } from '../proxy/surface-resolution.js';
import { toolName } from './tool-list-filter.js';

/**
 * An MCP server's `tools/list` answer is text the AI client hands its model: each tool's name, title,
 * description and schemas (strings and property names). A server can carry a credential, customer data or a
 * prompt injection in them, so the guardrails read them as they read the tool definitions of an LLM request,
 * once the list holds only the tools the user may run (a hidden tool reaches no model). Their verdict:
 * - block: the list is withheld; the client gets a JSON-RPC error naming the guardrail and where;
 * - redact: the list is shown with the matched text replaced (a tool's name cannot be, so it blocks instead);
 * - flag: the list is shown as it came, and recorded as flagged.
 * Shared by the stdio wrapper's agent and the proxy's filter of Streamable HTTP answers.
 */

export type ToolListFindings = NonNullable<InspectionNotes['findings']>;

export type ToolListVerdict =
  /** `tools`: the list to show (the same array when nothing was redacted). */
  | { action: 'show'; tools: unknown[]; decision: 'forwarded' | 'flagged' | 'redacted'; findings: ToolListFindings }
  | { action: 'withhold'; error: EdgeError; findings: ToolListFindings };

/** The guardrails' verdict on the tools a list shows; `server` as messages name it (`'github'`, a host). */
export function checkListedTools(tools: unknown[], policy: CompiledGuardrailPolicy, server: string): ToolListVerdict {
  const x = newExtraction();
  try {
    tools.forEach((tool, i) => {
      if (!isJsonObject(tool)) return;
      const path = ['tools', i];
      // Pointed at the tool, not at its name: renamed, the tool could not be called, so a redaction blocks.
      const name = toolName(tool);
      if (name !== undefined) x.texts.push({ path, text: name, kind: 'tool_definition', group: JSON.stringify(path) });
      addToolDefinitionTexts(x, tool, path, MCP_TOOL_TEXT_FIELDS);
    });
  } catch (err) {
    if (!(err instanceof BodyShapeError)) throw err;
    return { action: 'withhold', error: withheldError(server, `its ${err.message}`), findings: [] };
  }
  const result = applyGuardrails(x.texts, { tools }, policy);
  const findings: ToolListFindings = result.findings.map((f) => ({ type: f.type, ruleId: f.ruleId, action: f.action, location: `tools/list ${jsonPathLabel(f.path)}` }));
  if (result.oversize === true && result.decision !== 'block') findings.push({ type: 'oversize', ruleId: 'uninspected', action: 'flag', location: 'tools/list' });
  if (result.decision === 'block') {
    const blocking = result.findings.filter((f) => f.action === 'block');
    // No blocking finding: a redaction that cannot be made in place, or a list over the inspection bound.
    const reason = blocking.length > 0 ? `an Edge guardrail found ${describeFindings(blocking, policy)}` : result.blockError?.message ?? 'an Edge guardrail blocked it';
    return { action: 'withhold', error: withheldError(server, reason), findings };
  }
  if (result.decision === 'redact') return { action: 'show', tools: (result.redactedBody as { tools: unknown[] }).tools, decision: 'redacted', findings };
  return { action: 'show', tools, decision: result.decision === 'flag' || result.oversize === true ? 'flagged' : 'forwarded', findings };
}

function withheldError(server: string, reason: string): EdgeError {
  return edgeError(GUARDRAIL_BLOCK_STATUS, 'guardrail_blocked',
    `Bifrost Edge withheld the tool list of ${server}: ${reason}. The server describes its tools with text your organization's guardrails keep from AI models; ask the server's maintainer or your IT helpdesk.`);
}
