import { createHash } from 'node:crypto';
import { edgeError, type EdgeError } from '../edge-error.js';
import { GUARDRAIL_BLOCK_STATUS } from '../guardrails/apply-guardrails.js';
import { toolNames } from './tool-list-filter.js';
import type { ToolListVerdict } from './tool-list-guardrails.js';
import { DroppedToolSet, type ServerDroppedTools } from './server-dropped-tools.js';

/**
 * What Edge remembers of one MCP server's tool lists (per wrapped server for stdio, per MCP session for Streamable
 * HTTP), between the list and the calls that follow it:
 * - the tools the guardrails left out of a list: a client that calls one anyway (it listed the tools earlier, or
 *   guessed the name) is refused, until a later list shows the tool clean. With `server` (Streamable HTTP: what the
 *   server's other sessions learnt, server-dropped-tools.ts), a tool dropped in any session of the server is refused
 *   here too, until a list in any session, at an endpoint spelled as where it was dropped, shows it clean. This
 *   session's own lists still count on their own: where its latest list at an endpoint's spelling showed the tool
 *   clean, its calls at that spelling go by that list (the tool it calls there is the one it was shown), or a drop made
 *   at another spelling, whose client never lists again, would refuse it until Edge restarts;
 * - the last verdict, so a client that lists the same tools again and again (clients re-list often) leaves one audit
 *   record of what the guardrails found, not one per list.
 */
export class ToolListMemory {
  /**
   * `server`: what the server's sessions learnt, seen as the current request reached it (see `at`). `state`: this
   * memory's own, shared by its views.
   */
  constructor(private readonly server?: ServerDroppedTools, private readonly state = new RememberedLists()) {}

  /**
   * This memory seen through `server`: the same session's memory, for one request. A session's requests may spell its
   * endpoint differently, and what a list clears in the server's memory depends on the spelling it came from.
   */
  at(server: ServerDroppedTools): ToolListMemory {
    return new ToolListMemory(server, this.state);
  }

  /**
   * Notes the guardrails' verdict on `checked` (the tools they read); true when it differs from the last one noted
   * (another list, or another verdict on it): worth recording.
   */
  noteVerdict(checked: unknown[], verdict: ToolListVerdict): boolean {
    // Shown clean first: a name both shown and dropped (two tools of one name, one of them poisoned) stays refused.
    if (verdict.action === 'show') {
      for (const name of toolNames(verdict.tools)) {
        this.state.dropped.delete(name);
        this.server?.clear(name);
        // Kept only while the server's memory still refuses the tool (few names), and tied to the latest drop standing
        // now: a drop made later, by any session at any spelling, has another number and refuses again (serverRefuses).
        if (this.server?.has(name) === true) this.state.shownClean.add(name, cleanAt(this.server.spelling, this.server.lastDrop(name)));
      }
    }
    for (const name of verdict.dropped) {
      this.state.dropped.add(name);
      this.state.shownClean.forget(name);
      this.server?.drop(name);
    }
    const digest = createHash('sha256').update(JSON.stringify(checked)).update(JSON.stringify(verdictSummary(verdict))).digest('base64');
    const changed = digest !== this.state.lastVerdict;
    this.state.lastVerdict = digest;
    return changed;
  }

  /**
   * Notes a list withheld unread (the stdio wrapper could not put it to the agent) with `error`; true when that differs
   * from the last verdict noted: worth recording. Its tools were not read, so none is dropped or shown clean.
   */
  noteWithheldUnread(error: EdgeError): boolean {
    const digest = createHash('sha256').update(JSON.stringify(['unread', error.type, error.message])).digest('base64');
    const changed = digest !== this.state.lastVerdict;
    this.state.lastVerdict = digest;
    return changed;
  }

  /**
   * The refusal of a call to `tool`, when the guardrails left it out of the server's last list that had it: this
   * session's last list of it, or, where this session's latest list at the request's spelling did not show it clean,
   * any session's.
   */
  callRefusal(tool: string, server: string): EdgeError | undefined {
    if (!this.state.dropped.has(tool) && !this.serverRefuses(tool)) return undefined;
    return edgeError(GUARDRAIL_BLOCK_STATUS, 'guardrail_blocked',
      `Bifrost Edge refused the call of the MCP tool '${tool}' of ${server}: an Edge guardrail left it out of the server's tool list, because its description or schema holds text your organization's guardrails keep from AI models. It can be called again once the server lists it without that text; ask the server's maintainer or your IT helpdesk.`);
  }

  private serverRefuses(tool: string): boolean {
    if (this.server === undefined || !this.server.has(tool)) return false;
    return !this.state.shownClean.hasAt(tool, cleanAt(this.server.spelling, this.server.lastDrop(tool)));
  }
}

/** What a session's clean list is kept under: the spelling it came from and the latest drop then standing. */
function cleanAt(spelling: string, lastDrop: number | undefined): string {
  return `${spelling}\u0000${lastDrop ?? ''}`;
}

/** What one memory keeps, whichever view of it is noting. */
class RememberedLists {
  /** Bounded as the server's memory is (a list may drop endless poisoned names); past it the oldest is forgotten. */
  readonly dropped = new DroppedToolSet();
  /**
   * The spellings of the endpoint where this session's latest list showed a tool clean that the server's memory still
   * refused (dropped at another spelling). Bounded as `dropped` is; a forgotten one is refused again, the safe way.
   */
  readonly shownClean = new DroppedToolSet();
  lastVerdict: string | undefined;
}

function verdictSummary(verdict: ToolListVerdict): unknown {
  return verdict.action === 'show' ? [verdict.decision, verdict.findings] : [verdict.error.type, verdict.findings];
}

/**
 * Memories by key (a server name, a session), the least recently used forgotten past `max`: Edge must not grow with
 * every session a client ever opened. A forgotten one only costs a second audit record, or a dropped tool's call then
 * decided on its own content.
 */
export class BoundedMemories<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly create: (key: string) => T, private readonly max = 1000) {}

  /** The memory of `key`, made when there is none. */
  get(key: string): T {
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
    } else {
      entry = this.create(key);
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** The memory of `key` if there is one (not made, nor moved up). */
  peek(key: string): T | undefined {
    return this.entries.get(key);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}

/** Findings one audit record keeps of the tool lists it covers; past it, one more finding sums up the rest. */
export const MAX_LIST_FINDINGS_PER_RECORD = 100;
