import type { ExchangeRecord } from '../proxy/exchange.js';
import type { ToolListVerdict } from './tool-list-guardrails.js';

/**
 * What the guardrails decided on the tool lists one proxied answer carried (a JSON batch or an SSE stream may carry
 * several), for the exchange's audit record: its findings, and the decision the record shows. A withheld list makes
 * the exchange `blocked` (though the HTTP answer was a 200: the list became a JSON-RPC error inside it), with the
 * error type and message the client got.
 */
export class ToolListVerdicts {
  private readonly verdicts: ToolListVerdict[] = [];

  add(verdict: ToolListVerdict): void {
    this.verdicts.push(verdict);
  }

  /** The record's fields given the decision the exchange had without its lists (`outcome`). */
  recordPatch(outcome: ExchangeRecord['decision']): Pick<ExchangeRecord, 'decision' | 'findings'> & Partial<Pick<ExchangeRecord, 'errorType' | 'message'>> {
    const withheld = this.verdicts.find((v) => v.action === 'withhold');
    const findings = this.verdicts.flatMap((v) => v.findings);
    if (withheld !== undefined) return { decision: 'blocked', findings, errorType: withheld.error.type, message: withheld.error.message };
    const shown = this.verdicts.map((v) => (v.action === 'show' ? v.decision : 'forwarded'));
    return { decision: [outcome, ...shown].reduce((worst, d) => (RANK[d] > RANK[worst] ? d : worst), outcome), findings };
  }
}

/** Only these decisions come out of a list or an exchange that reached its answer. */
const RANK: Record<ExchangeRecord['decision'], number> = { forwarded: 0, flagged: 1, redacted: 2, blocked: 3, failed: 3 };
