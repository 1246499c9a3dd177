import fs from 'node:fs';
import { AuditOutbox } from '../../../src/audit/outbox.js';
import { sampleRecord } from './records.js';

/**
 * Writes a closed outbox of `records` records at `dbPath`, then overwrites a page in the middle of the
 * file with garbage, as a disk fault or a half-finished restore would: SQLite still opens the file and
 * reads its schema, and fails with SQLITE_CORRUPT only when a read reaches that page.
 */
export async function writeDamagedAuditDb(dbPath: string, records = 3000): Promise<void> {
  const outbox = new AuditOutbox({ path: dbPath, destinations: [] });
  for (let i = 1; i <= records; i++) outbox.append(sampleRecord(i, { message: 'z'.repeat(200) }));
  await outbox.flush();
  outbox.close();
  const fd = fs.openSync(dbPath, 'r+');
  try {
    const header = Buffer.alloc(100);
    fs.readSync(fd, header, 0, 100, 0);
    const storedPageSize = header.readUInt16BE(16);
    const pageSize = storedPageSize === 1 ? 65_536 : storedPageSize;
    const pages = Math.floor(fs.fstatSync(fd).size / pageSize);
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xff), 0, pageSize, Math.floor(pages / 2) * pageSize);
  } finally {
    fs.closeSync(fd);
  }
}
