import { randomUUID } from 'node:crypto';
import type { PolicyBundle } from '../control/protocol/policy-bundle.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import { visibleMcpTools } from '../policy/mcp-tools.js';
import { BodyShapeError } from '../providers/body-shape.js';
import { calledTool, mcpToolName, normalizeMcpBody } from '../providers/mcp-messages.js';
import type { HttpRequestInfo, NormalizedRequest } from '../providers/types.js';
import { appFromUserAgent } from '../proxy/app-attribution.js';
import type { ExchangeRecord } from '../proxy/exchange.js';
import type { RequestInspector } from '../proxy/surface-resolution.js';
import type { CompiledGuardrailPolicy } from '../guardrails/compile-policy.js';
import { checkListedTools, type ToolListVerdict } from './tool-list-guardrails.js';
import { toolListWithheldError, toolName } from './tool-list-filter.js';
import { withheldUnreadReason } from './withheld-unread-reason.js';
import { BoundedMemories, ToolListMemory } from './tool-list-memory.js';
import { ToolListVerdicts } from './tool-list-verdicts.js';
import type { DecideRequest, DecideResponse, McpClientInfo, ToolsRequest, ToolsResponse, WithheldListRequest } from './decision-protocol.js';
import type { McpServerInventory } from './servers-seen.js';

/**
 * The agent's side of the stdio wrapper: a wrapped server's `tools/call` goes through the same decision
 * steps as proxied traffic (the enforcer's inspector, the guardrails, content safety, in the agent's
 * order), raises the same notices, and leaves one audit record, so an admin reads MCP calls where every
 * other AI request is. The record names the call `tools/call` on host `stdio:<name>`, path `/<client>-<tool>`.
 */

export interface StdioDecisionDeps {
  /** The agent's decision steps, read per call (a new policy applies at once). */
  inspectors: () => readonly RequestInspector[];
  /** Audit, activity page and metrics: the agent's own exchange recorder. */
  record: (record: ExchangeRecord) => Promise<void>;
  /** The policy in force, for filtering tool lists. */
  bundle: () => PolicyBundle | undefined;
  /** The guardrails in force, for the tool lists a server shows; none: lists are filtered, not scanned. */
  guardrails?: () => CompiledGuardrailPolicy;
  inventory: McpServerInventory;
  now?: () => Date;
}

export interface StdioDecisions {
  decideCall(input: DecideRequest): Promise<DecideResponse>;
  visibleTools(input: ToolsRequest): Promise<ToolsResponse>;
  /** A list the wrapper withheld without asking (too many tools, nested too deep): recorded as a withheld list. */
  recordWithheldList(input: WithheldListRequest): Promise<void>;
}

/** The pseudo-host stdio calls are attributed to: `stdio:github` (app rules see the host `stdio`). */
export function stdioHost(server: string): string {
  return `stdio:${server}`;
}

export function createStdioDecisions(deps: StdioDecisionDeps): StdioDecisions {
  const now = deps.now ?? (() => new Date());
  /** Per wrapped server (by name): the tools its last lists dropped, and the last verdict recorded. */
  const lists = new BoundedMemories(() => new ToolListMemory());
  return {
    async decideCall(input) {
      const started = Date.now();
      const { server, message } = input;
      deps.inventory.recordStdio(server.name, server.command);
      const userAgent = clientUserAgent(input.client);
      const tool = calledTool(message);
      const record: ExchangeRecord = {
        id: randomUUID(),
        method: 'tools/call',
        host: stdioHost(server.name),
        path: `/${tool !== undefined ? mcpToolName(server.name, tool) : ''}`,
        provider: 'mcp',
        model: null,
        app: appFromUserAgent(userAgent),
        decision: 'forwarded',
        findings: [],
        latencyMs: 0,
      };
      const finish = async (patch: Partial<ExchangeRecord>): Promise<void> => {
        await deps.record({ ...record, ...patch, latencyMs: Date.now() - started });
      };
      const refuse = async (error: EdgeError): Promise<DecideResponse> => {
        await finish({ decision: 'blocked', via: 'edge', status: error.status, errorType: error.type, message: error.message });
        return { action: 'refuse', error: { status: error.status, type: error.type, message: error.message } };
      };

      let request: NormalizedRequest;
      try {
        request = normalizeMcpBody(message, server.name, { stream: false });
      } catch (err) {
        if (!(err instanceof BodyShapeError)) throw err;
        return refuse(edgeError(400, 'invalid_request', `The MCP message for '${server.name}' is not valid JSON-RPC: ${err.message}. The MCP client sent something its server could not read either.`, { provider: 'mcp' }));
      }
      if (request.operation !== 'tools/call') {
        return refuse(edgeError(400, 'invalid_request', `Bifrost Edge decides MCP tool calls one at a time; got ${request.operation}.`, { provider: 'mcp' }));
      }
      record.prompt = request.texts.map((t) => t.text).join('\n');
      const dropped = tool !== undefined ? lists.peek(server.name)?.callRefusal(tool, `'${server.name}'`) : undefined;
      if (dropped !== undefined) return refuse(dropped);

      const info: HttpRequestInfo = { method: 'POST', host: record.host, path: record.path, headers: userAgent !== undefined ? { 'user-agent': userAgent } : {} };
      let body: unknown = message;
      let rewritten = false;
      let flagged = false;
      for (const inspect of deps.inspectors()) {
        const verdict = await inspect({ request, body, info, app: record.app ?? 'unknown' });
        if (verdict.notes?.findings) record.findings.push(...verdict.notes.findings);
        flagged ||= verdict.notes?.flagged === true;
        if (verdict.action === 'block') return refuse(verdict.error);
        if (verdict.action === 'rewrite') {
          body = verdict.body;
          rewritten = true;
        }
      }
      await finish({ decision: rewritten ? 'redacted' : flagged ? 'flagged' : 'forwarded', via: 'origin' });
      return rewritten ? { action: 'forward', message: body } : { action: 'forward' };
    },

    async visibleTools({ server, client, tools, definitions, paged }) {
      deps.inventory.recordStdio(server.name, server.command, tools);
      const allowed = visibleMcpTools(deps.bundle(), server.name, tools, now());
      if (definitions === undefined || deps.guardrails === undefined) return { allowed };
      const started = Date.now();
      const allowedSet = new Set(allowed);
      const positions = definitions.flatMap((tool, i) => (allowedSet.has(toolName(tool) ?? '') ? [i] : []));
      const checked = positions.map((i) => definitions[i]);
      const verdict = checkListedTools(checked, deps.guardrails(), `'${server.name}'`, positions, { paged: paged === true });
      const changed = lists.get(server.name).noteVerdict(checked, verdict);
      // A list the guardrails found nothing in is not worth a record (clients list tools often); one they acted on,
      // or could not read, is, once: the same list with the same verdict again adds nothing to the audit trail.
      if (changed && (verdict.action === 'withhold' || verdict.findings.length > 0)) {
        const error = verdict.action === 'withhold' ? { via: 'edge' as const, status: verdict.error.status, errorType: verdict.error.type, message: verdict.error.message } : { via: 'origin' as const };
        await deps.record({ ...listRecord(server.name, client, started), ...error, ...recordFields(verdict) });
      }
      if (verdict.action === 'withhold') return { allowed, refusal: { status: verdict.error.status, type: verdict.error.type, message: verdict.error.message } };
      // Only a redacted list is sent back: the wrapper relays an unchanged one as the server wrote it.
      return verdict.decision === 'redacted' ? { allowed, shown: verdict.tools } : { allowed };
    },

    async recordWithheldList({ server, client, withheld }) {
      const started = Date.now();
      deps.inventory.recordStdio(server.name, server.command);
      // Worded here from the reason alone, as the wrapper worded the client's error: the poster chooses nothing else.
      const error = toolListWithheldError(`'${server.name}'`, withheldUnreadReason(withheld));
      // As a list the guardrails withheld: once, not again each time the client lists the same tools.
      if (!lists.get(server.name).noteWithheldUnread(error)) return;
      await deps.record({
        ...listRecord(server.name, client, started), via: 'edge', decision: 'blocked', findings: [], status: error.status, errorType: error.type, message: error.message,
      });
    },
  };
}

/** The audit record of a wrapped server's `tools/list`, before its verdict. */
function listRecord(server: string, client: McpClientInfo | undefined, started: number): Omit<ExchangeRecord, 'decision' | 'findings'> {
  return {
    id: randomUUID(), method: 'tools/list', host: stdioHost(server), path: '/', provider: 'mcp', model: null,
    app: appFromUserAgent(clientUserAgent(client)), latencyMs: Date.now() - started,
  };
}

/** The decision and findings (bounded) a list's record shows. */
function recordFields(verdict: ToolListVerdict): Pick<ExchangeRecord, 'decision' | 'findings'> {
  const verdicts = new ToolListVerdicts();
  verdicts.add(verdict);
  const { decision, findings } = verdicts.recordPatch('forwarded');
  return { decision, findings };
}

/** `claude-ai/0.1.0`: the client app as its `initialize` named it, in User-Agent form for attribution. */
function clientUserAgent(client: McpClientInfo | undefined): string | undefined {
  if (client === undefined || client.name.trim() === '') return undefined;
  const safe = (text: string) => text.replace(/[^\w.@+-]/g, '-');
  return client.version !== undefined ? `${safe(client.name)}/${safe(client.version)}` : safe(client.name);
}
