import type { ExchangeRecord } from '../proxy/exchange.js';
import type { ToolListFindings, ToolListVerdict } from './tool-list-guardrails.js';
import { MAX_LIST_FINDINGS_PER_RECORD } from './tool-list-memory.js';

/**
 * What the guardrails decided on the tool lists one proxied answer carried (a JSON batch or an SSE stream may carry
 * several), for the exchange's audit record: its findings, and the decision the record shows. A withheld list makes
 * the exchange `blocked` (though the HTTP answer was a 200: the list became a JSON-RPC error inside it), with the
 * error type and message the client got. Kept as a summary, with bounded findings: a GET stream may carry lists for
 * hours, and its one record must not grow with them.
 */
export class ToolListVerdicts {
  private withheld: Extract<ToolListVerdict, { action: 'withhold' }> | undefined;
  private shown: ExchangeRecord['decision'] = 'forwarded';
  private readonly findings: ToolListFindings = [];
  /** Findings past the bound: counted, and the strongest action among them kept. */
  private more = 0;
  private moreAction: 'block' | 'redact' | 'flag' = 'flag';

  add(verdict: ToolListVerdict): void {
    if (verdict.action === 'withhold') this.withheld ??= verdict;
    else this.shown = worse(this.shown, verdict.decision);
    for (const finding of verdict.findings) {
      if (this.findings.length < MAX_LIST_FINDINGS_PER_RECORD - 1) {
        this.findings.push(finding);
        continue;
      }
      this.more++;
      if (ACTION_RANK[finding.action] > ACTION_RANK[this.moreAction]) this.moreAction = finding.action;
    }
  }

  /** The record's fields given the decision the exchange had without its lists (`outcome`). */
  recordPatch(outcome: ExchangeRecord['decision']): Pick<ExchangeRecord, 'decision' | 'findings'> & Partial<Pick<ExchangeRecord, 'errorType' | 'message'>> {
    // The summary carries the strongest action of those it stands for, so a block is never read as a flag.
    const findings = this.more > 0 ? [...this.findings, { type: 'more_findings', ruleId: `${this.more} more`, action: this.moreAction, location: 'tools/list' }] : [...this.findings];
    if (this.withheld !== undefined) return { decision: 'blocked', findings, errorType: this.withheld.error.type, message: this.withheld.error.message };
    return { decision: worse(outcome, this.shown), findings };
  }
}

function worse(a: ExchangeRecord['decision'], b: ExchangeRecord['decision']): ExchangeRecord['decision'] {
  return RANK[b] > RANK[a] ? b : a;
}

/** Only these decisions come out of a list or an exchange that reached its answer. */
const RANK: Record<ExchangeRecord['decision'], number> = { forwarded: 0, flagged: 1, redacted: 2, blocked: 3, failed: 3 };
const ACTION_RANK = { flag: 0, redact: 1, block: 2 } as const;
