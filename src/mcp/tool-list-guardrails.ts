import { edgeError, type EdgeError } from '../edge-error.js';
import { applyGuardrails, describeFindings, GUARDRAIL_BLOCK_STATUS, type GuardrailFinding } from '../guardrails/apply-guardrails.js';
import type { CompiledGuardrailPolicy } from '../guardrails/compile-policy.js';
import { getAtPath } from '../guardrails/json-path.js';
import { BodyShapeError, isJsonObject } from '../providers/body-shape.js';
import { MAX_READ_NESTING, newExtraction } from '../providers/extraction.js';
import { addToolDefinitionTexts, MCP_TOOL_TEXT_FIELDS, validatedValueHolder } from '../providers/tool-definition-texts.js';
import { jsonPathLabel } from '../proxy/inspectors/guardrails.js';
import type { InspectionNotes } from '../proxy/surface-resolution.js';
import { toolName, toolNames } from './tool-list-filter.js';

/**
 * An MCP server's `tools/list` answer is text the AI client hands its model: each tool's name, title,
 * description and schemas (strings and property names). A server can carry a credential, customer data or a
 * prompt injection in them, so the guardrails read them as they read the tool definitions of an LLM request,
 * once the list holds only the tools the user may run (a hidden tool reaches no model). Their verdict:
 * - block: the tools it names are left out of the list (recorded), so the rest of the server stays usable; when
 *   that is every tool, the list is withheld and the client gets a JSON-RPC error naming the guardrail and where
 *   (one page of a paged list is shown empty instead, keeping its cursor to the next page);
 * - redact: the list is shown with the matched text replaced. Only description-like strings can be: a tool's name,
 *   a property name and a value its schema validates against (enum, const, pattern, required, $ref...) cannot be
 *   changed without breaking the tool (an SDK client validates structured output against the outputSchema it was
 *   shown), so a redaction there blocks instead;
 * - flag: the list is shown as it came, and recorded as flagged.
 * A list the guardrails cannot read (nested deeper than Edge reads, more text than they inspect) is withheld too,
 * as `tool_list_unchecked`. Shared by the stdio wrapper's agent and the proxy's filter of Streamable HTTP answers.
 */

export type ToolListFindings = NonNullable<InspectionNotes['findings']>;

/**
 * `tools`: the list to show (the same array when nothing was redacted or left out); `dropped`: the names of the tools
 * the guardrails left out (their calls are refused, see tool-list-memory.ts).
 */
export type ToolListVerdict =
  | { action: 'show'; tools: unknown[]; decision: 'forwarded' | 'flagged' | 'redacted'; findings: ToolListFindings; dropped: string[] }
  | { action: 'withhold'; error: EdgeError; findings: ToolListFindings; dropped: string[] };

export interface ToolListCheckOptions {
  /**
   * The list is one page of several (the request named a cursor, or the answer a next one): a page whose every tool
   * offends is shown empty, keeping its nextCursor, instead of withheld, so the client still reaches the next pages.
   */
  paged?: boolean;
}

/** The schema fields of a listed tool (their validated values are pinned, see above). */
const MCP_SCHEMA_FIELDS: ReadonlySet<unknown> = new Set(['inputSchema', 'outputSchema']);

/**
 * The guardrails' verdict on the tools a list shows; `server` as messages name it (`'github'`, a host).
 * `positions`: where each of `tools` sits in the list the server sent (it may have been filtered), so findings and
 * messages name the tool as the server numbers it; by default, the same places.
 */
export function checkListedTools(
  tools: unknown[], policy: CompiledGuardrailPolicy, server: string, positions?: readonly number[], options: ToolListCheckOptions = {},
): ToolListVerdict {
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
    // The only shape error of this walk: nesting deeper than it reads (a list is no request the user could fix).
    const where = jsonPathLabel(serverPath(err.path, positions));
    return { action: 'withhold', error: uncheckedError(server, `${where} nests arrays or objects more than ${MAX_READ_NESTING} levels deep, deeper than Edge reads`), findings: [], dropped: [] };
  }
  for (const span of x.texts) {
    // Pointed at the schema object holding the keyword: no string there to rewrite, so a redaction blocks.
    const holder = MCP_SCHEMA_FIELDS.has(span.path[2]) ? validatedValueHolder(span.path, 3) : undefined;
    if (holder !== undefined) span.path = holder;
  }
  const result = applyGuardrails(x.texts, { tools }, policy);
  const asListed = result.findings.map((f) => ({ ...f, path: serverPath(f.path, positions) }));
  const findings: ToolListFindings = asListed.map((f) => ({ type: f.type, ruleId: f.ruleId, action: f.action, location: `tools/list ${jsonPathLabel(f.path)}` }));
  if (result.oversize === true) {
    if (result.decision !== 'block') return { action: 'show', tools, decision: 'flagged', findings: [...findings, { type: 'oversize', ruleId: 'uninspected', action: 'flag', location: 'tools/list' }], dropped: [] };
    return {
      action: 'withhold',
      error: uncheckedError(server, `its text (${result.inspectedBytes} bytes) is more than the ${policy.policy.maxInspectBytes} bytes Edge's guardrails read (guardrails.maxInspectBytes)`),
      findings: [...findings, { type: 'oversize', ruleId: 'uninspected', action: 'block', location: 'tools/list' }],
      dropped: [],
    };
  }
  const offending = offendingTools(result.findings, tools);
  const dropped = toolNames(tools.filter((_, i) => offending.has(i)));
  if (offending.size > 0 && offending.size === tools.length && options.paged !== true) {
    const blocking = asListed.filter((f) => f.action === 'block');
    return { action: 'withhold', error: blockedError(server, blocking.length > 0 ? blocking : asListed.filter((f) => f.action === 'redact'), blocking.length === 0, policy), findings, dropped };
  }
  if (offending.size > 0) {
    // The others are shown, read again without the dropped tools' texts (remembered scans: no second scan).
    const rest = applyGuardrails(x.texts.filter((span) => !offending.has(span.path[1])), { tools }, policy);
    const shown = rest.decision === 'redact' ? (rest.redactedBody as { tools: unknown[] }).tools : tools;
    return { action: 'show', tools: shown.filter((_, i) => !offending.has(i)), decision: 'redacted', findings, dropped };
  }
  if (result.decision === 'redact') return { action: 'show', tools: (result.redactedBody as { tools: unknown[] }).tools, decision: 'redacted', findings, dropped };
  return { action: 'show', tools, decision: result.decision === 'flag' ? 'flagged' : 'forwarded', findings, dropped };
}

/**
 * The places of the tools the guardrails block, or would redact where no text can be rewritten (a name, a validated
 * value: their spans point at an object): those tools are left out of the list, the rest of the server stays usable.
 */
function offendingTools(findings: GuardrailFinding[], tools: unknown[]): Set<unknown> {
  const body = { tools };
  const offending = findings.filter((f) => f.action === 'block' || (f.action === 'redact' && typeof getAtPath(body, f.path) !== 'string'));
  return new Set(offending.map((f) => f.path[1]));
}

/** `['tools', 1, ...]` of the checked list as the server's list numbers that tool. */
function serverPath(path: Array<string | number>, positions: readonly number[] | undefined): Array<string | number> {
  const at = path[1];
  if (positions === undefined || path[0] !== 'tools' || typeof at !== 'number') return path;
  return ['tools', positions[at] ?? at, ...path.slice(2)];
}

/** `unredactable`: the findings would be redacted, but sit where no text can be changed (see above). */
function blockedError(server: string, findings: GuardrailFinding[], unredactable: boolean, policy: CompiledGuardrailPolicy): EdgeError {
  const found = `an Edge guardrail found ${describeFindings(findings, policy)}`;
  const reason = unredactable
    ? `${found}, in a tool's name, a property name or a value its schema checks against (enum, const, pattern, required, $ref...), which Edge cannot redact without breaking the tool`
    : found;
  return edgeError(GUARDRAIL_BLOCK_STATUS, 'guardrail_blocked',
    `Bifrost Edge withheld the tool list of ${server}: ${reason}. The server describes its tools with text your organization's guardrails keep from AI models; ask the server's maintainer or your IT helpdesk.`);
}

/** A list the guardrails could not read: withheld, since it would otherwise reach the model unchecked. */
function uncheckedError(server: string, reason: string): EdgeError {
  return edgeError(502, 'tool_list_unchecked',
    `Bifrost Edge withheld the tool list of ${server}: ${reason}, so its guardrails could not check it. Ask the server's maintainer for a smaller tool list, or your IT helpdesk.`);
}
