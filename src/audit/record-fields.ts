import { ANNOUNCED_AUDIT_RECORD_FIELDS, type AnnouncedAuditRecordField, type AuditRecordInput } from '../control/protocol/audit.js';

/**
 * Which of the audit format's newer, optional record fields (ANNOUNCED_AUDIT_RECORD_FIELDS) the device
 * may write. Edge Control's record schema is strict: a server that predates a field refuses every batch
 * holding it, and a record is hash-chained when it is written, so the field cannot be taken out at
 * upload time; the device's uploads would stall behind that batch for good. So a field is written only
 * once the server has announced it on an answer to an upload (AUDIT_RECORD_FIELDS_HEADER), and no
 * longer after an answer leaves it out (a server rolled back to an older version). Records written
 * before the first answer of a run go without: losing that detail is better than stopping the upload.
 */
export class RecordFieldGate {
  private accepted = new Set<AnnouncedAuditRecordField>();

  /** Reads a server's announcement (the header's value; absent from servers that predate every field). */
  announce(header: string | string[] | undefined): void {
    const named = new Set((Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((name) => name.trim()));
    this.accepted = new Set(ANNOUNCED_AUDIT_RECORD_FIELDS.filter((field) => named.has(field)));
  }

  /** `record` without the newer fields the receiver has not announced (the same object when it has them all). */
  admit(record: AuditRecordInput): AuditRecordInput {
    const refused = ANNOUNCED_AUDIT_RECORD_FIELDS.filter((field) => record[field] !== undefined && !this.accepted.has(field));
    if (refused.length === 0) return record;
    const kept: Record<string, unknown> = { ...record };
    for (const field of refused) delete kept[field];
    return kept as AuditRecordInput;
  }
}
