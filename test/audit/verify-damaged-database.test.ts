import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAuditDatabaseReadOnly } from '../../src/audit/database.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { EDGE_BIN } from '../support/edge-process.js';
import { writeDamagedAuditDb } from './support/damaged-database.js';
import { tempDbPath } from './support/records.js';

/**
 * A damaged file (disk fault, partial restore) opens but fails mid-scan. That is "unreadable" (exit 2),
 * not "chain broken" (exit 1): a script or SIEM reading exit 1 would report tampering.
 */
describe('audit verify on a database damaged in the middle', () => {
  it('exits 2 and says the file is damaged, in text and in JSON', async () => {
    const dbPath = tempDbPath('edge-verify-damaged-');
    await writeDamagedAuditDb(dbPath);
    // The damage is past what opening reads: this is the scan's failure, not the open's.
    expect(() => openAuditDatabaseReadOnly(dbPath).close()).not.toThrow();

    const text = runAuditVerifyCommand({ dbPath });
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toContain(`audit verify: could not read ${dbPath} to the end (database disk image is malformed)`);
    expect(text.stdout).toContain('Keep a copy for investigation');

    const json = runAuditVerifyCommand({ dbPath, json: true });
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: expect.stringContaining(`could not read ${dbPath} to the end`) });
  });

  it('the CLI prints the JSON on stdout and exits 2', async () => {
    const dbPath = tempDbPath('edge-verify-damaged-');
    await writeDamagedAuditDb(dbPath);
    const run = spawnSync(process.execPath, [EDGE_BIN, 'audit', 'verify', '--json', '--data-dir', path.dirname(dbPath)], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 2, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('database disk image is malformed') });
  });
});
