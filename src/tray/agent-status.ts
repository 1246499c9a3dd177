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

/** The audit outbox's fill level as the tray needs it (derived from AuditQueueStatus.level). */
export interface AuditQueueSignal {
  nearCap: boolean;
  full: boolean;
}
