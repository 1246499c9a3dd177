import { describeAuditDestination } from '../audit/destination-names.js';
import type { AuditQueueStatus } from '../audit/errors.js';
import type { PolicyStatus } from '../policy/status-data.js';

export type { Notice, NoticeKind } from '../policy/notices.js';
export type { ExchangeRecord } from '../proxy/exchange.js';
export type { PolicyStatus } from '../policy/status-data.js';

/** What the running agent answers at `GET /status.json` (see createLocalEndpoints in src/agent.ts). */
export interface AgentStatus {
  mode: 'local' | 'gateway' | 'passthrough';
  /** The proxy URL, e.g. http://127.0.0.1:8790. */
  proxy: string;
  gateway: string | null;
  policy: PolicyStatus;
}

/** The audit outbox's state as the tray needs it (derived from AuditQueueStatus; see auditQueueSignal). */
export interface AuditQueueSignal {
  nearCap: boolean;
  full: boolean;
  /**
   * Why the audit database cannot be written ("SQLITE_FULL: database or disk is full"), while it cannot:
   * nothing can be recorded, whatever the fill level says.
   */
  unwritable?: string;
  /** Who the queued records wait for, as people call it ("Edge Control"); absent for a rolling local log. */
  waitingFor?: string;
}

/** What the tray shows of the outbox's status: the level, an unwritable database and whom the queue waits for. */
export function auditQueueSignal(status: AuditQueueStatus): AuditQueueSignal {
  return {
    nearCap: status.level === 'near_cap',
    full: status.level === 'full',
    ...(status.unwritable !== null ? { unwritable: status.unwritable } : {}),
    ...(status.destination !== null ? { waitingFor: describeAuditDestination(status.destination) } : {}),
  };
}
