import { randomUUID } from 'node:crypto';
import type { EdgeError } from '../edge-error.js';
import { appFromUserAgent } from './app-attribution.js';
import type { ExchangeRecord } from './exchange.js';

/**
 * The exchange record of a CONNECT that policy refused before any byte went upstream. There is no
 * decrypted request behind it, so it names the host and the app only; method `CONNECT` tells an
 * auditor the refusal happened at the tunnel. The app is named as decrypted requests name it (from the
 * User-Agent) so one app reads the same across the trail; the catalog's name is in the message.
 */
export function refusedTunnelRecord(connect: { host: string; userAgent?: string }, verdict: { error: EdgeError; app: string }): ExchangeRecord {
  return {
    id: randomUUID(),
    method: 'CONNECT',
    host: connect.host,
    path: '',
    app: connect.userAgent ? appFromUserAgent(connect.userAgent) : verdict.app,
    via: 'edge',
    decision: 'blocked',
    status: verdict.error.status,
    errorType: verdict.error.type,
    message: verdict.error.message,
    findings: [],
    latencyMs: 0,
  };
}
