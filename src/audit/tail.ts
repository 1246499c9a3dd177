import type { AuditRecord } from '../control/protocol/audit.js';
import { openAuditDatabaseReadOnly, type AuditDatabase } from './database.js';
import type { AuditCommandResult } from './verify.js';

export interface TailedRecord {
  seq: number;
  hash: string;
  prev_hash: string;
  /** Acknowledged by every configured destination. */
  shipped: boolean;
  /** Null when the stored text no longer parses (run `audit verify`). */
  record: AuditRecord | null;
}

/** The newest `limit` records, oldest first, with whether they have been shipped. */
export function readRecentRecords(db: AuditDatabase, limit: number): TailedRecord[] {
  const shippedThrough = (db.prepare('SELECT MIN(sent_through_seq) AS seq FROM ship_cursors').get() as { seq: number | null }).seq;
  const rows = db.prepare('SELECT seq, record_json, prev_hash, hash FROM audit_records ORDER BY seq DESC LIMIT ?').all(Math.max(0, Math.floor(limit))) as
    { seq: number; record_json: string; prev_hash: string; hash: string }[];
  return rows.reverse().map((row) => ({
    seq: row.seq,
    hash: row.hash,
    prev_hash: row.prev_hash,
    shipped: shippedThrough === null || row.seq <= shippedThrough,
    record: parseOrNull(row.record_json),
  }));
}

/**
 * `bifrost-edge audit tail [--json] [-n N]`: the most recent records, one per line — aligned columns
 * for people, or one JSON object per line (`{seq, hash, prev_hash, shipped, record}`) for tools.
 */
export function runAuditTailCommand(options: { dbPath: string; limit?: number; json?: boolean }): AuditCommandResult {
  let db: AuditDatabase;
  try {
    db = openAuditDatabaseReadOnly(options.dbPath);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { exitCode: 2, stdout: options.json ? `${JSON.stringify({ error: message })}\n` : `audit tail: ${message}\n` };
  }
  try {
    const records = readRecentRecords(db, options.limit ?? 20);
    if (options.json) return { exitCode: 0, stdout: records.map((r) => `${JSON.stringify(r)}\n`).join('') };
    if (records.length === 0) return { exitCode: 0, stdout: 'no audit records yet\n' };
    return { exitCode: 0, stdout: formatTable(records) };
  } finally {
    db.close();
  }
}

const COLUMNS = ['SEQ', 'TIME', 'DECISION', 'STATUS', 'MS', 'APP', 'HOST', 'MODEL', 'TOKENS', 'REASON', 'FINDINGS', 'SHIPPED'] as const;

function formatTable(records: TailedRecord[]): string {
  const rows = records.map(toCells);
  const widths = COLUMNS.map((title, i) => Math.min(40, Math.max(title.length, ...rows.map((cells) => cells[i]!.length))));
  const line = (cells: readonly string[]) => cells.map((cell, i) => clip(cell, widths[i]!).padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join('\n') + '\n';
}

function toCells(r: TailedRecord): string[] {
  const rec = r.record;
  if (!rec) return [String(r.seq), '?', 'unreadable record: run `bifrost-edge audit verify`', '', '', '', '', '', '', '', '', r.shipped ? 'yes' : 'no'];
  const model = [rec.provider, rec.model].filter((part) => part !== undefined && part !== null && part !== '').join('/');
  const findings = rec.findings.map((f) => `${f.type}:${f.action}`).join(',');
  const latency = typeof rec.latency_ms === 'number' ? String(Math.round(rec.latency_ms)) : undefined;
  // text(): a tampered row may lack any field; show '-' rather than fail the whole listing.
  return [
    String(r.seq), text(rec.ts), text(rec.decision), text(rec.status), text(latency),
    text(rec.app), text(rec.host), text(model || undefined), text(tokens(rec)), text(rec.reason), text(findings || undefined), r.shipped ? 'yes' : 'no',
  ];
}

/**
 * Input/output tokens: the provider's figures, or, when it reported none, what Edge estimated and
 * charged to budgets (`~1200/40 est`), so the two are never mistaken for each other.
 */
function tokens(rec: AuditRecord): string | undefined {
  // Read defensively: a tampered row may hold anything in these objects.
  const pair = (usage: { input_tokens?: unknown; output_tokens?: unknown }) => `${text(usage.input_tokens)}/${text(usage.output_tokens)}`;
  if (rec.usage) return pair(rec.usage);
  if (rec.estimated_usage) return `~${pair(rec.estimated_usage)} est`;
  return undefined;
}

function text(value: unknown): string {
  return value === undefined || value === null || value === '' ? '-' : String(value);
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function parseOrNull(text: string): AuditRecord | null {
  try {
    const value = JSON.parse(text) as AuditRecord;
    return value !== null && typeof value === 'object' ? { ...value, findings: Array.isArray(value.findings) ? value.findings : [] } : null;
  } catch {
    return null;
  }
}
