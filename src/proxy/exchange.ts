import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostPort } from './connect-target.js';

/** One HTTP request/response pair arriving at the proxy, decrypted or plain. */
export interface Exchange {
  id: string;
  req: IncomingMessage;
  res: ServerResponse;
  /** True when the request arrived inside a CONNECT tunnel that Edge decrypted. */
  tls: boolean;
  /** The CONNECT target the tunnel was opened for: the only host this request may address. */
  connectTarget?: HostPort;
  startedAt: number;
}

/** What the proxy reports about every finished exchange, for logs, audit and metrics. */
export interface ExchangeRecord {
  id: string;
  method: string;
  host: string;
  path: string;
  provider?: string;
  model?: string | null;
  app?: string;
  via?: 'gateway' | 'passthrough' | 'origin' | 'edge';
  decision: 'forwarded' | 'redacted' | 'flagged' | 'blocked' | 'failed';
  status?: number;
  errorType?: string;
  /** Token usage the response reported, and its estimated cost, when known. */
  usage?: { input_tokens: number; output_tokens: number };
  costUsd?: number;
  /**
   * What the exchange was charged instead when the provider reported no usage (a stream stopped early, a
   * request the client abandoned): Edge's estimate, kept apart from reported usage in the audit record.
   */
  estimatedUsage?: UsageNote['usage'] & { costUsd: number };
  /** What Edge told the client when it refused or failed the request. */
  message?: string;
  /** The prompt texts joined, for the audit's content retention (digest or text); dropped after recording. */
  prompt?: string;
  /** Guardrail findings (types and rule ids, never the text). */
  findings: Array<{ type: string; ruleId: string; action: 'block' | 'redact' | 'flag'; location: string }>;
  latencyMs: number;
}

/** Token usage charged for an exchange and what it cost, as the audit record states them. */
export interface UsageNote {
  usage: { input_tokens: number; output_tokens: number };
  costUsd: number;
}
