import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditRecordInput } from '../../../src/control/protocol/audit.js';

/** A fresh directory per test, so every test uses its own real SQLite file. */
export function tempDbPath(prefix = 'edge-audit-'): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'audit.db');
}

export function sampleRecord(i: number, overrides: Partial<AuditRecordInput> = {}): AuditRecordInput {
  return {
    request_id: `req-${i}`,
    ts: new Date(Date.UTC(2025, 0, 1, 12, 0, 0, i)).toISOString(),
    device_id: 'device-1',
    app: 'curl',
    host: 'api.openai.com',
    method: 'POST',
    path: '/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o',
    decision: 'allowed',
    status: 200,
    latency_ms: 120 + i,
    usage: { input_tokens: 10, output_tokens: 5 },
    ...overrides,
  };
}
