import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AuditRecordInput } from '../src/control/protocol/audit.js';
import { AuditOutbox } from '../src/audit/outbox.js';
import { openAuditDatabaseReadOnly } from '../src/audit/database.js';
import { verifyAuditChain } from '../src/audit/verify.js';

export interface AuditBenchOptions {
  /** Records in the measured run (after a warm-up). Default 30 000. */
  records?: number;
  /** Concurrent requests, each awaiting appendDurable before its next record. Default 64. */
  concurrency?: number;
  synchronous?: 'NORMAL' | 'FULL';
  /** Where the SQLite file goes (a fresh temp dir by default, removed afterwards). */
  dir?: string;
}

export interface AuditBenchResult {
  name: 'audit-outbox';
  /** Sustained chained records per second committed with appendDurable (the agent's path). */
  recordsPerSecond: number;
  records: number;
  seconds: number;
  concurrency: number;
  synchronous: 'NORMAL' | 'FULL';
  /** Records per transaction achieved by group commit. */
  meanGroupSize: number;
  /** Time from appendDurable() to its commit, as one request waits for it. */
  appendDurableP50Ms: number;
  appendDurableP99Ms: number;
  /** Records per second with fire-and-forget append() and one flush. */
  fireAndForgetRecordsPerSecond: number;
  /** Records per second `audit verify` checks. */
  verifyRecordsPerSecond: number;
}

/** A realistic record: findings, usage, a content digest; about 600 bytes of canonical JSON. */
function sampleRecord(i: number): AuditRecordInput {
  return {
    request_id: `bench-${i}-${createHash('sha256').update(String(i)).digest('hex').slice(0, 12)}`,
    ts: new Date().toISOString(),
    device_id: 'bench-device',
    user: { sub: 'user-123', email: 'dev@example.com' },
    virtual_key_id: 'vk-engineering',
    app: i % 3 === 0 ? 'cursor' : 'python-requests',
    host: 'api.openai.com',
    method: 'POST',
    path: '/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    decision: i % 10 === 0 ? 'redacted' : 'allowed',
    findings: i % 10 === 0 ? [{ type: 'aws_access_key', rule_id: 'secret.aws.access_key_id', action: 'redact', location: 'messages[0].content' }] : [],
    status: 200,
    latency_ms: 200 + (i % 700),
    usage: { input_tokens: 512, output_tokens: 128 },
    cost_usd: 0.00042,
    content: { mode: 'digest', sha256: createHash('sha256').update(`prompt ${i}`).digest('hex') },
    policy_version: 7,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function benchAuditThroughput(options: AuditBenchOptions = {}): Promise<AuditBenchResult> {
  const records = options.records ?? 30_000;
  const concurrency = options.concurrency ?? 64;
  const synchronous = options.synchronous ?? 'NORMAL';
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-bench-'));
  const dbPath = path.join(dir, 'audit.db');
  // No destinations and no cap: measure writing, not pruning or shipping.
  const outbox = new AuditOutbox({ path: dbPath, synchronous, destinations: [], maxBytes: null });
  try {
    let groups = 0;
    outbox.on('committed', () => { groups += 1; });

    let next = 0;
    const latencies: number[] = [];
    const worker = async (limit: number) => {
      while (next < limit) {
        const i = next++;
        const started = performance.now();
        await outbox.appendDurable(sampleRecord(i));
        latencies.push(performance.now() - started);
      }
    };
    const runDurable = (limit: number) => Promise.all(Array.from({ length: concurrency }, () => worker(limit)));

    await runDurable(Math.min(2000, records)); // warm-up: statement caches, page cache, JIT
    const warmed = next;
    latencies.length = 0;
    groups = 0;

    const t0 = performance.now();
    await runDurable(warmed + records);
    const seconds = (performance.now() - t0) / 1000;
    const measuredGroups = groups;
    latencies.sort((a, b) => a - b);

    const fireAndForgetCount = Math.min(records, 20_000);
    const t1 = performance.now();
    for (let i = 0; i < fireAndForgetCount; i++) {
      outbox.append(sampleRecord(next + i));
      if (i % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await outbox.flush();
    const fireAndForgetSeconds = (performance.now() - t1) / 1000;
    outbox.close();

    const reader = openAuditDatabaseReadOnly(dbPath);
    const t2 = performance.now();
    const verification = verifyAuditChain(reader);
    const verifySeconds = (performance.now() - t2) / 1000;
    reader.close();
    if (!verification.ok) throw new Error(`benchmark chain does not verify: ${verification.problem?.message}`);

    return {
      name: 'audit-outbox',
      recordsPerSecond: Math.round(records / seconds),
      records,
      seconds: Number(seconds.toFixed(3)),
      concurrency,
      synchronous,
      meanGroupSize: Number((records / Math.max(1, measuredGroups)).toFixed(1)),
      appendDurableP50Ms: Number(percentile(latencies, 50).toFixed(3)),
      appendDurableP99Ms: Number(percentile(latencies, 99).toFixed(3)),
      fireAndForgetRecordsPerSecond: Math.round(fireAndForgetCount / fireAndForgetSeconds),
      verifyRecordsPerSecond: Math.round(verification.checkedRecords / verifySeconds),
    };
  } finally {
    outbox.close();
    if (!options.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/audit-bench.js [FULL]` prints one JSON result.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const synchronous = process.argv[2] === 'FULL' ? 'FULL' : 'NORMAL';
  benchAuditThroughput({ synchronous }).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`audit bench failed: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
