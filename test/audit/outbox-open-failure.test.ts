import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';

/** The files under `dir` this process holds open (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return []; // the directory's own descriptor, closed while listing
    }
  });
}

describe('an audit database that opens but cannot be read', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is closed again when the outbox cannot start', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-open-failure-'));
    const file = path.join(dir, 'audit.db');
    new AuditOutbox({ path: file }).close();
    const db = new Database(file);
    db.exec('DROP TABLE chain_checkpoint');
    db.close();

    expect(() => new AuditOutbox({ path: file, offThreadCheckpoints: true })).toThrow(/chain_checkpoint/);
    expect(openFilesUnder(dir)).toEqual([]);
  });
});
